import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { unwatchPid, watchPid } from './internal/reaper.js';

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A free UDP port on 127.0.0.1 (also free for TCP at the time of the call). */
export async function getFreeUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await getFreePort();
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free UDP port found');
}

/** A fresh temp dir; remove it with {@link removeDir}. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `er-${prefix}-`));
}

/** Removes a dir recursively, ignoring errors. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Options of {@link waitFor} beyond timeout and interval. */
export interface WaitForOptions {
  /**
   * Ends the wait at once when it fires, rejecting with its `reason` (e.g. {@link ManagedProcess.exitSignal}, so
   * a peer that died is reported at once instead of after the whole timeout).
   */
  signal?: AbortSignal;
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it fires. */
function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `p`, unless `signal` fires first: then its reason. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Polls `check` until it returns true or `timeoutMs` passes, then throws with `what` in the message. A `check`
 * that throws counts as "not yet" (its last error becomes the timeout's `cause`); only `options.signal` ends the
 * wait early.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 100,
  options: WaitForOptions = {},
): Promise<void> {
  const { signal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    throwIfAborted(signal);
    let done = false;
    try {
      done = await raceAbort(Promise.resolve().then(check), signal);
    } catch (err) {
      throwIfAborted(signal);
      lastError = err;
    }
    if (done) return;
    await sleepUnlessAborted(intervalMs, signal);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

const EXTRA_PATHS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

/** Absolute path of an executable found on PATH or in the sbin dirs, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...EXTRA_PATHS];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when running in CI (`CI=true`), where a missing peer must fail the run. */
export function isCi(): boolean {
  const v = process.env['CI'];
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/**
 * Checks that every binary a test needs is installed. In CI a missing one throws; elsewhere it prints a loud
 * warning and returns false so the caller can skip.
 */
export function peerAvailable(peer: string, binaries: readonly string[]): boolean {
  const missing = binaries.filter((b) => findBinary(b) === undefined);
  if (missing.length === 0) return true;
  const message = `PEER MISSING: ${peer} needs ${missing.join(', ')} (run scripts/install-peers.sh)`;
  if (isCi()) throw new Error(`${message}; CI=true, so this fails instead of skipping`);
  process.stderr.write(`\n!!!!!!!!!! ${message}: SKIPPING these tests !!!!!!!!!!\n\n`);
  return false;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** How a {@link ManagedProcess} ended. */
export interface ProcessExit {
  /** Exit code, or null when a signal ended it or it never started. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** Why it could not be started at all (e.g. `spawn ... ENOENT`), when that happened. */
  spawnError?: string;
}

/** `exited with code 1`, `killed by SIGKILL`, `could not be started: ...`. */
export function describeExit(exit: ProcessExit): string {
  if (exit.spawnError !== undefined) return `could not be started: ${exit.spawnError}`;
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${String(exit.code)}`;
}

/**
 * A peer program ended before it was ready (bad config, port taken, missing permission). `code` is
 * `PEER_EXITED`; the message names the binary, how it ended and the last lines it printed.
 */
export class PeerExitedError extends Error {
  override readonly name = 'PeerExitedError';
  readonly code = 'PEER_EXITED';
  /** Starting it again with the same config fails the same way. */
  readonly retryable = false;
  /** Path of the program as it was started. */
  readonly binary: string;
  readonly exit: ProcessExit;
  /** The last lines of its output (stdout, stderr and its log file, if any). */
  readonly outputTail: string;

  constructor(binary: string, exit: ProcessExit, outputTail: string, context?: string) {
    const tail = outputTail.trim() === '' ? '; it printed nothing' : `; last lines of its output:\n${outputTail}`;
    super(`${binary} ${describeExit(exit)}${context === undefined ? '' : ` ${context}`}${tail}`);
    this.binary = binary;
    this.exit = exit;
    this.outputTail = outputTail;
  }
}

/** A peer did not become ready in time, although it kept running. `code` is `PEER_NOT_READY`. */
export class PeerNotReadyError extends Error {
  override readonly name = 'PeerNotReadyError';
  readonly code = 'PEER_NOT_READY';
  /** A slow machine may make it next time. */
  readonly retryable = true;
  readonly binary: string;
  readonly outputTail: string;

  constructor(binary: string, outputTail: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const tail = outputTail.trim() === '' ? '; it printed nothing' : `; last lines of its output:\n${outputTail}`;
    super(`${binary} is running but not ready: ${why}${tail}`, { cause });
    this.binary = binary;
    this.outputTail = outputTail;
  }
}

/** Options of a {@link ManagedProcess}. */
export interface ManagedProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * A log file the program writes instead of (or besides) stdout/stderr, e.g. snmpd's `-Lf`: its last lines join
   * the failure messages.
   */
  logFile?: string;
}

/** Default number of output lines a failure message carries. */
const TAIL_LINES = 20;
/**
 * How long to wait after `exit` for the output pipes to close. A grandchild that inherited them can keep them
 * open for ever, so this is bounded.
 */
const DRAIN_MS = 500;

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The child and its pipes are unref'd, so nothing but this keeps the event loop alive while someone awaits the
 * exit (a script whose only pending work is `await peer.waitExit()` would otherwise end at once).
 */
async function keepAlive<T>(p: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 60_000);
  try {
    return await p;
  } finally {
    clearInterval(timer);
  }
}

/** A peer program started by a test, killed on {@link ManagedProcess.stop} or when the test process exits. */
export class ManagedProcess {
  readonly child: ChildProcess;
  /** The program as given to the constructor. */
  readonly command: string;
  private output = '';
  private exitInfo: ProcessExit | undefined;
  private readonly exited: Promise<number | null>;
  private readonly logFile: string | undefined;
  private readonly exitController = new AbortController();

  constructor(command: string, args: readonly string[], options: ManagedProcessOptions = {}) {
    installExitHook();
    this.command = command;
    this.logFile = options.logFile;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.child);
    const pid = this.child.pid;
    if (pid !== undefined) watchPid(pid);
    // A peer a test forgot to stop (its assertion failed first) must not keep the test process alive: the reaper
    // kills it once that process has ended. Waits on the peer hold the event loop themselves (see keepAlive).
    this.child.unref();
    for (const stream of [this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString('utf8');
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      const finish = (): void => {
        running.delete(this.child);
        if (pid !== undefined) unwatchPid(pid);
        const info = this.exitInfo ?? { code: null, signal: null };
        if (!this.exitController.signal.aborted) {
          this.exitController.abort(new PeerExitedError(this.command, info, this.tail()));
        }
        resolve(info.code);
      };
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // Wait for the pipes so the failure message holds the program's last words.
        const timer = setTimeout(finish, DRAIN_MS);
        this.child.once('close', () => {
          clearTimeout(timer);
          finish();
        });
      });
      this.child.once('error', (err) => {
        // Also emitted for a failed kill(); only a failed spawn (no pid) means the process never ran.
        if (this.child.pid !== undefined) return;
        this.output += `\nspawn error: ${err.message}`;
        this.exitInfo = { code: null, signal: null, spawnError: err.message };
        finish();
      });
    });
  }

  /** What the process printed so far (stdout and stderr interleaved, last 100 kB). */
  get logs(): string {
    return this.output;
  }

  /**
   * The last `lines` lines of its output, then of its log file when one was given: what a failure message
   * shows.
   */
  tail(lines = TAIL_LINES): string {
    const parts = [lastLines(this.output, lines)];
    if (this.logFile !== undefined) {
      const log = lastLines(readTextFile(this.logFile), lines);
      if (log !== '') parts.push(`--- ${this.logFile} ---\n${log}`);
    }
    return parts.filter((p) => p !== '').join('\n');
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.exitInfo === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How it ended, once it has (undefined while it runs). */
  get exitStatus(): ProcessExit | undefined {
    return this.exitInfo;
  }

  /**
   * Fires once the process has ended (and its output is read), with a {@link PeerExitedError} as reason. Pass it
   * to {@link waitFor} so a wait for a dead peer ends at once.
   */
  get exitSignal(): AbortSignal {
    return this.exitController.signal;
  }

  /** Resolves with the exit code when the process exits (and its output has been read). */
  waitExit(): Promise<number | null> {
    return keepAlive(this.exited);
  }

  /**
   * Polls `check` until the program is ready. Fails at once with a {@link PeerExitedError} when the program ends
   * first, and with a {@link PeerNotReadyError} after `timeoutMs`; both carry the last lines of its output.
   */
  async waitReady(
    check: () => boolean | Promise<boolean>,
    what: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<void> {
    try {
      await waitFor(check, what, options.timeoutMs ?? 15_000, options.intervalMs ?? 100, { signal: this.exitSignal });
    } catch (err) {
      if (err instanceof PeerExitedError) throw new PeerExitedError(err.binary, err.exit, err.outputTail, `before it was ready (waiting for ${what})`);
      throw new PeerNotReadyError(this.command, this.tail(), err);
    }
    // The check passed, but if the program has ended meanwhile the answer came from someone else (another
    // program on its port) or it crashed right after: either way it is not ready.
    if (!this.alive || this.exitSignal.aborted) {
      await keepAlive(this.exited);
      const exit = this.exitInfo ?? { code: this.child.exitCode, signal: this.child.signalCode };
      throw new PeerExitedError(this.command, exit, this.tail(), `right after its readiness check passed (waiting for ${what})`);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once it is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.alive) {
      await this.settled();
      return;
    }
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await keepAlive(this.exited);
    clearTimeout(timer);
  }

  /** Kills at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    if (!this.alive) {
      await this.settled();
      return;
    }
    this.child.kill('SIGKILL');
    await keepAlive(this.exited);
  }

  /** Waits for an already ended process's bookkeeping (at most `DRAIN_MS`). */
  private async settled(): Promise<void> {
    if (this.exitInfo !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) await keepAlive(this.exited);
  }
}
