import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../src/index.js';

// A child Jest runs test/fixtures/leaves-peer.fixture.ts, which starts a peer and never stops it. Whether that
// test fails or its process is killed, the peer must be gone afterwards.
const pkgDir = join(__dirname, '..');
const jestBin = require.resolve('jest/bin/jest');
const fixtureConfig = join(__dirname, 'fixtures', 'jest.fixture.config.cjs');

/** Gone, or a zombie nobody reaps (this container's init may not): either way no longer running. */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
  return state !== 'Z' && state !== 'X';
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

describe('peers left running by a test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-testkit-cleanup-'));
  const pids: number[] = [];

  afterAll(() => {
    for (const pid of pids) if (running(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function runFixture(mode: 'fail' | 'hang', pidFile: string): { exit: Promise<number | null>; kill: (sig: NodeJS.Signals) => void; output: () => string } {
    let output = '';
    const child = spawn(process.execPath, [jestBin, '--config', fixtureConfig, '--runInBand', '--ci'], {
      cwd: pkgDir,
      env: { ...process.env, JEST_KIND: '', TESTKIT_FIXTURE_MODE: mode, TESTKIT_FIXTURE_PID_FILE: pidFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { exit, kill: (sig) => child.kill(sig), output: () => output };
  }

  it('kills the peer and lets Jest exit when the test fails before stopping it', async () => {
    const pidFile = join(dir, 'fail.pid');
    const run = runFixture('fail', pidFile);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([run.exit, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running after 30 s'), 30_000)))]);
    clearTimeout(timer);
    if (code === 'still running after 30 s') run.kill('SIGKILL');
    const pid = readPid(pidFile);
    if (pid !== undefined) pids.push(pid);
    expect({ code, failedOnPurpose: run.output().includes('this test fails on purpose') }).toEqual({ code: 1, failedOnPurpose: true });
    expect(pid).toBeDefined();
    await waitFor(() => !running(pid as number), `peer ${String(pid)} to be killed`, 5000);
  }, 60_000);

  it('kills the peer when the test process itself is terminated mid-test', async () => {
    const pidFile = join(dir, 'hang.pid');
    const run = runFixture('hang', pidFile);
    await waitFor(() => readPid(pidFile) !== undefined, 'the fixture to start its peer', 30_000);
    const pid = readPid(pidFile) as number;
    pids.push(pid);
    expect(running(pid)).toBe(true);
    run.kill('SIGTERM');
    await run.exit;
    await waitFor(() => !running(pid), `peer ${pid} to be killed`, 5000);
  }, 60_000);
});
