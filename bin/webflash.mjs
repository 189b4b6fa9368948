#!/usr/bin/env node
// The `webflash` publisher CLI. Registers tsx's ESM loader so Node can run the TypeScript
// sources directly, then hands over to src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
