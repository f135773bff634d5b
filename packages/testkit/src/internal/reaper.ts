import { spawn, type ChildProcess } from 'node:child_process';

// Why a separate process: Jest runs test files in a sandbox whose `process` is a copy of the real one, so a
// `process.on('exit')` hook registered from a test never fires, and no hook at all runs when the test process is
// killed (CI timeout, SIGKILL, Ctrl-C on a worker). The reaper holds the read end of a pipe from the test
// process; the kernel closes it however that process ends, and the reaper then kills the peers it was told about.
// It ignores SIGINT/SIGTERM/SIGHUP so a Ctrl-C sent to the whole terminal group does not take it down before
// the test process has gone.
const REAPER_SOURCE = `
const pids = new Set();
let buf = '';
const reap = () => {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  process.exit(0);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => undefined);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    const pid = Number(line.slice(1));
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    if (line[0] === '+') pids.add(pid);
    else if (line[0] === '-') pids.delete(pid);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

let reaper: ChildProcess | undefined;
const watched = new Set<number>();

function send(line: string): void {
  const stdin = reaper?.stdin;
  if (stdin === undefined || stdin === null || stdin.destroyed) return;
  stdin.write(`${line}\n`);
}

/**
 * Makes sure `pid` is SIGKILLed when this process ends, however it ends. One reaper process runs while at least
 * one pid is watched; neither it nor its pipe keeps this process alive.
 */
export function watchPid(pid: number): void {
  if (reaper === undefined) {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'] });
    // A reaper that could not start (or died) must not fail the test that started a peer.
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.once('exit', () => {
      if (reaper === child) reaper = undefined;
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper = child;
    // A reaper that died early leaves pids unwatched: hand them all to the new one.
    for (const p of watched) send(`+${p}`);
  }
  watched.add(pid);
  send(`+${pid}`);
}

/** `pid` has ended (or was stopped): the reaper forgets it, and ends once it watches nothing. */
export function unwatchPid(pid: number): void {
  if (!watched.delete(pid)) return;
  send(`-${pid}`);
  if (watched.size === 0 && reaper !== undefined) {
    reaper.stdin?.end();
    reaper = undefined;
  }
}
