#!/usr/bin/env node
// Launcher for the igpt CLI: runs src/cli/main.ts under tsx and passes on arguments and exit code.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const script = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
let tsx;
try {
  tsx = pathToFileURL(require.resolve('tsx')).href;
} catch {
  process.stderr.write('igpt: tsx is not installed; run npm install in the igpt-playground folder\n');
  process.exit(1);
}
const child = spawn(process.execPath, ['--import', tsx, script, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('error', (e) => {
  process.stderr.write(`igpt: could not start node: ${e.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
