// Placeholder demo until the demo issue lands: starts the recording API on the embedded store.
import { spawn } from 'node:child_process';

const child = spawn(process.execPath, ['packages/api-server/dist/main.js', '--port', '8888'], { stdio: 'inherit' });
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => process.exit(code ?? 0));
