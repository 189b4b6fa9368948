import { runBundleSuite } from './bundle.ts';
const r = await runBundleSuite({ sizesMiB: [1, 4, 16], repeats: 3, log: console.log });
console.log(JSON.stringify(r, null, 1));
