// Runs the demo (examples/demo) built by `npm run build`: api-server on the embedded store, a rack of three
// simulated Redfish meters, a collector and a decorated example suite, then the energy report. Arguments are
// passed through (`--exit`, `--port`, `--step-seconds`, `--help`); DEMO_EXIT=1 is the same as `--exit`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'examples', 'demo', 'dist', 'main.js');
if (!existsSync(main)) {
  console.error(`demo: ${main} is missing; run "npm run build" first (bash scripts/demo.sh does it)`);
  process.exit(1);
}

const child = spawn(process.execPath, [main, ...process.argv.slice(2)], { stdio: 'inherit', cwd: process.cwd() });
// Ctrl-C reaches the child through the terminal's process group; forward only what a supervisor sends to us.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
