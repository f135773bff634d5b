import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RunningScenario } from '../report.js';
import { isRecord } from './http.js';

// Small files in the temp dir that carry what one process learnt to the other test files and workers of the
// run: Jest gives every test file a fresh module registry and global object, and runs files in parallel worker
// processes, so nothing in memory survives from one file to the next. Every access is best effort: a file that
// cannot be read or written is ignored, and the SDK then behaves as if it were alone.

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean
    }
  }
}

function remove(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * File holding until when the API at `apiUrl` is considered down. It is scoped to the parent process as well:
 * the files of a `--runInBand` run share their process, parallel Jest or Mocha workers share their parent, and
 * an unrelated run (or a new server that got the same port later) is not affected.
 */
export function availabilityFile(apiUrl: string): string {
  return join(tmpdir(), `energyrecorder-api-${hash(`${apiUrl}\u0000${process.ppid}`)}.json`);
}

/** When this process started (ms since the epoch). */
function processStartMs(): number {
  return performance.timeOrigin;
}

/** Whether the process `pid` still runs (a process of another user counts as running). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Until when another test file or worker found the API down, or undefined (one small file read). Only a note
 * from a process that still runs, written since this process started, counts: a note left by an earlier run
 * from the same shell (same parent process) is not evidence that the API is down now, so this process probes
 * for itself. A note that has expired or whose writer has exited is deleted.
 */
export function sharedDownUntil(apiUrl: string, now = Date.now()): number | undefined {
  const file = availabilityFile(apiUrl);
  const value = readJson(file);
  if (!isRecord(value) || value['apiUrl'] !== apiUrl) return undefined;
  const until = value['downUntilMs'];
  const atMs = value['atMs'];
  const pid = value['pid'];
  if (typeof until !== 'number' || until <= now || typeof pid !== 'number' || (pid !== process.pid && !isAlive(pid))) {
    // Expired, or its writer has exited: nobody can use it any more.
    remove(file);
    return undefined;
  }
  // Written before this process started (e.g. by an earlier run from the same shell, which has the same parent
  // process): not evidence about the API now, so this process probes for itself once.
  if (typeof atMs !== 'number' || atMs < processStartMs()) return undefined;
  return until;
}

/** Tells the other files and workers that the API is down until `untilMs`. */
export function shareDown(apiUrl: string, untilMs: number): void {
  sweepOnce();
  writeJson(availabilityFile(apiUrl), { apiUrl, downUntilMs: untilMs, atMs: Date.now(), pid: process.pid });
}

/** Tells them the API answers again. */
export function shareUp(apiUrl: string): void {
  remove(availabilityFile(apiUrl));
}

const SHARED_FILE = /^energyrecorder-(api|rec)-[0-9a-f]{16}\.json$/;
let swept = false;

/**
 * Deletes this SDK's files in the temp dir that nobody can need any more (test suites on random ports leave one
 * per port): down notes that have expired, recordings files with nothing left to keep, and any of them, or of
 * their temporary copies, untouched for a day. Runs once per module instance, on its first write.
 */
export function sweepSharedFiles(now = Date.now(), dir = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith('energyrecorder-')) continue;
    const file = join(dir, name);
    const kind = SHARED_FILE.exec(name)?.[1];
    const tmpCopy = kind === undefined && /^energyrecorder-(api|rec)-[0-9a-f]{16}\.json\..+\.tmp$/.test(name);
    if (kind === undefined && !tmpCopy) continue;
    try {
      if (now - statSync(file).mtimeMs > DAY_MS) {
        remove(file);
        continue;
      }
    } catch {
      continue;
    }
    if (kind === 'api') {
      const value = readJson(file);
      const until = isRecord(value) ? value['downUntilMs'] : undefined;
      if (typeof until === 'number' && until <= now) remove(file);
    } else if (kind === 'rec') {
      const value = readJson(file);
      if (isRecord(value) && isRecord(value['recordings']) && Object.keys(prune(readRecordings(file), now)).length === 0) remove(file);
    }
  }
}

function sweepOnce(): void {
  if (swept) return;
  swept = true;
  sweepSharedFiles();
}

/** One outermost recording of a process, as the other processes see it. */
interface SharedRecording {
  scenario: string;
  /** What ran when it started (null: nothing ran). */
  outer: { scenario: string; step: string } | null;
  /** When `outer` was itself a recording of this SDK still running then, its id. */
  outerId: string | undefined;
  ended: boolean;
  atMs: number;
}

type Recordings = Record<string, SharedRecording>;

const DAY_MS = 24 * 3600 * 1000;
/** How long an ended recording stays known, for a start that looked at the environment just before it ended. */
const ENDED_KEPT_MS = 10 * 60 * 1000;

function recordingsFile(apiUrl: string, environment: string): string {
  return join(tmpdir(), `energyrecorder-rec-${hash(`${apiUrl}\u0000${environment}`)}.json`);
}

function readRecordings(file: string): Recordings {
  const value = readJson(file);
  const out: Recordings = {};
  if (!isRecord(value) || !isRecord(value['recordings'])) return out;
  for (const [id, r] of Object.entries(value['recordings'])) {
    if (!isRecord(r) || typeof r['scenario'] !== 'string' || typeof r['atMs'] !== 'number') continue;
    const o = r['outer'];
    const outer = isRecord(o) && typeof o['scenario'] === 'string' && typeof o['step'] === 'string' ? { scenario: o['scenario'], step: o['step'] } : null;
    out[id] = {
      scenario: r['scenario'],
      outer,
      outerId: typeof r['outerId'] === 'string' ? r['outerId'] : undefined,
      ended: r['ended'] === true,
      atMs: r['atMs'],
    };
  }
  return out;
}

/** Drops what nobody can need any more: old ended recordings no running one leads back to, day-old entries. */
function prune(recordings: Recordings, now: number): Recordings {
  const keep = new Set<string>();
  for (const [id, r] of Object.entries(recordings)) {
    if (now - r.atMs > (r.ended ? ENDED_KEPT_MS : DAY_MS)) continue;
    keep.add(id);
    let next = r.outerId;
    while (next !== undefined && !keep.has(next) && recordings[next] !== undefined) {
      keep.add(next);
      next = recordings[next]?.outerId;
    }
  }
  return Object.fromEntries(Object.entries(recordings).filter(([id]) => keep.has(id)));
}

function writeRecordings(file: string, recordings: Recordings): void {
  sweepOnce();
  const kept = prune(recordings, Date.now());
  if (Object.keys(kept).length === 0) remove(file);
  else writeJson(file, { version: 1, recordings: kept });
}

/**
 * Notes that an outermost recording of `scenario` started while `outer` ran, and returns its id. When `outer` is
 * a recording of this SDK (another test file or worker), that is noted too, so the restore at the end can skip
 * it once it has ended.
 */
export function shareRecordingStart(apiUrl: string, environment: string, scenario: string, outer: RunningScenario | null): string {
  const file = recordingsFile(apiUrl, environment);
  const recordings = readRecordings(file);
  let outerId: string | undefined;
  if (outer !== null) {
    let latest = -1;
    for (const [id, r] of Object.entries(recordings)) {
      if (r.scenario === outer.scenario && r.atMs > latest) {
        outerId = id;
        latest = r.atMs;
      }
    }
  }
  const id = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
  recordings[id] = { scenario, outer: outer === null ? null : { scenario: outer.scenario, step: outer.step }, outerId, ended: false, atMs: Date.now() };
  writeRecordings(file, recordings);
  return id;
}

/**
 * What the recording `id` should restore: what ran before it, skipping every recording of this SDK that has
 * ended since (whose own saved session is taken instead). `fallback` when the file does not know `id`.
 */
export function sharedOuterToRestore(
  apiUrl: string,
  environment: string,
  id: string,
  fallback: { scenario: string; step: string } | null,
): { scenario: string; step: string } | null {
  const recordings = readRecordings(recordingsFile(apiUrl, environment));
  const own = recordings[id];
  if (own === undefined) return fallback;
  let outer = own.outer;
  let outerId = own.outerId;
  const seen = new Set<string>([id]);
  while (outerId !== undefined && !seen.has(outerId)) {
    seen.add(outerId);
    const r = recordings[outerId];
    if (r === undefined || !r.ended) break;
    outer = r.outer;
    outerId = r.outerId;
  }
  return outer;
}

/** Notes that the recording `id` has ended. */
export function shareRecordingEnd(apiUrl: string, environment: string, id: string): void {
  const file = recordingsFile(apiUrl, environment);
  const recordings = readRecordings(file);
  const own = recordings[id];
  if (own === undefined) return;
  own.ended = true;
  own.atMs = Date.now();
  writeRecordings(file, recordings);
}
