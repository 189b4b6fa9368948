// `npm start`: builds the demo bundle when it is missing, then serves the app in demo mode.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

if (existsSync('scripts/make-demo-bundle.ts') && !existsSync('public/demo/demo.fwb')) {
  const r = spawnSync('npx', ['tsx', 'scripts/make-demo-bundle.ts'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const vite = spawn('npx', ['vite', ...process.argv.slice(2)], { stdio: 'inherit' });
vite.on('exit', (code) => process.exit(code ?? 0));
