import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { noopLogger, type LogFields, type Logger } from '@energyrecorder/core';
import { StoreUnavailableError } from '../src/errors.js';
import { WriteQueue, type SendOutcome, type WriteQueueOptions } from '../src/internal/write-queue.js';
import type { EncodedLines } from '../src/store.js';
import { deferred, settledSoon } from './helpers.js';

// The queue against real files in temp directories and an in-test influxd stand-in (`FakeInflux`) that stores,
// fails like an outage, or refuses bodies holding MARKER for good. Waits poll a condition with a generous
// deadline; nothing depends on how fast the machine is.

const MARKER = 'refuse_me';
const REFUSAL = 'partial write: field type conflict:\ninput field "value" is type integer, already exists as float';
const SEGMENT_RE = /^seg-\d{16}\.lp$/;
const HEADER = 8;

/** One line of line protocol, unique per (tag, i). */
function line(tag: string, i: number): string {
  return `power,batch=${tag},n=${i} value=${i}i 1700000000${String(i).padStart(9, '0')}\n`;
}

/** Lines as the store hands them to append(): `maxBytes` is an upper bound, larger than what is written. */
function lines(text: string, slack = 13): EncodedLines {
  const bytes = Buffer.from(text, 'utf8');
  return { maxBytes: bytes.length + slack, writeTo: (out, offset) => offset + bytes.copy(out, offset) };
}

/** The lines of bodies, without empty ones. */
function splitLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** A segment record as the queue writes it: uint32 LE length, uint32 LE CRC-32, payload. */
function record(text: string, crc?: number): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc ?? crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/** Reads the whole records of a segment file, checking each CRC; `end` is where the last good one ends. */
function parseSegment(data: Buffer): { texts: string[]; end: number } {
  const texts: string[] = [];
  let p = 0;
  while (p + HEADER <= data.length) {
    const length = data.readUInt32LE(p);
    if (p + HEADER + length > data.length) break;
    const payload = data.subarray(p + HEADER, p + HEADER + length);
    if (crc32(payload) !== data.readUInt32LE(p + 4)) break;
    texts.push(payload.toString('utf8'));
    p += HEADER + length;
  }
  return { texts, end: p };
}

const segName = (id: number): string => `seg-${String(id).padStart(16, '0')}.lp`;

/** The segment files of `dir`, none when it does not exist. */
async function segFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  });
  return names.filter((n) => SEGMENT_RE.test(n)).sort();
}

/** The records of every segment file of `dir`, in file order. */
async function segRecords(dir: string): Promise<string[]> {
  const texts: string[] = [];
  for (const n of await segFiles(dir)) texts.push(...parseSegment(await readFile(join(dir, n))).texts);
  return texts;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `p`, or a failure naming `what` when it has not settled within `ms` (instead of a silent Jest timeout). */
async function within<T>(what: string, p: Promise<T>, ms = 4_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** influxd as the queue's sender sees it. */
class FakeInflux {
  /** Every body send() got, in call order. */
  readonly bodies: string[] = [];
  /** Lines stored, once per storing write. */
  readonly stored: string[] = [];
  /** 'down': every write throws, as when influxd is unreachable. */
  mode: 'store' | 'down' = 'store';
  /** When set, each write waits in {@link held} until the test releases it; the mode applies after. */
  hold = false;
  readonly held: Array<{ text: string; release: () => void }> = [];
  failures = 0;
  inFlight = 0;
  maxInFlightSeen = 0;

  readonly send = async (body: Buffer): Promise<SendOutcome> => {
    // Copied at once: the queue reuses the buffer after the write.
    const text = body.toString('utf8');
    this.bodies.push(text);
    this.inFlight++;
    this.maxInFlightSeen = Math.max(this.maxInFlightSeen, this.inFlight);
    try {
      if (this.hold) await new Promise<void>((release) => this.held.push({ text, release }));
      if (this.mode === 'down') {
        this.failures++;
        throw new Error('connect ECONNREFUSED 127.0.0.1:8086');
      }
      if (text.includes(MARKER)) return { stored: false, reason: REFUSAL };
      this.stored.push(...splitLines(text));
      return { stored: true };
    } finally {
      this.inFlight--;
    }
  };

  release(): void {
    this.hold = false;
    for (const h of this.held.splice(0)) h.release();
  }

  /** How many bodies held this line. */
  sentCount(l: string): number {
    return this.bodies.filter((b) => splitLines(b).includes(l.trimEnd())).length;
  }
}

interface LogLine {
  level: string;
  message: string;
  fields: LogFields;
}

function captureLogger(): { logger: Logger; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const at =
    (level: string) =>
    (fields: LogFields, message?: string): void =>
      void logs.push({ level, fields, message: message ?? '' });
  const logger: Logger = {
    ...noopLogger,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger, logs };
}

const cleanups: Array<() => Promise<void>> = [];
const opened: Array<{ queue: WriteQueue; fake: FakeInflux }> = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'er-write-queue-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function newQueue(dir: string, fake: FakeInflux, options: Partial<WriteQueueOptions> = {}): WriteQueue {
  const queue = new WriteQueue({ dir, maxBytes: 1 << 20, send: fake.send, minRetryMs: 5, maxRetryMs: 20, ...options });
  opened.push({ queue, fake });
  return queue;
}

async function openQueue(dir: string, fake: FakeInflux, options: Partial<WriteQueueOptions> = {}): Promise<WriteQueue> {
  const queue = newQueue(dir, fake, options);
  await queue.open();
  return queue;
}

/** The prototype of node's FileHandle, to watch or fail the queue's file operations. */
async function fileHandlePrototype(): Promise<FileHandle> {
  const dir = await tempDir();
  const fh = await open(join(dir, 'probe'), 'w');
  await fh.close();
  return Object.getPrototypeOf(fh) as FileHandle;
}

/** A pid no process has: a child that has exited (reaped by node). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid as number;
  await once(child, 'exit');
  return pid;
}

afterEach(async () => {
  jest.restoreAllMocks();
  for (const { queue, fake } of opened.splice(0)) {
    fake.release();
    await queue.close(0);
  }
  for (const c of cleanups.splice(0)) await c();
});

describe('WriteQueue append', () => {
  it('resolves an append only after its record is written and fdatasynced, with length and CRC in the header', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const proto = await fileHandlePrototype();
    const events: string[] = [];
    const datasync = proto.datasync;
    jest.spyOn(proto, 'datasync').mockImplementation(async function (this: FileHandle) {
      await datasync.call(this);
      events.push('synced');
    });
    const queue = await openQueue(dir, fake);
    const text = line('disk', 1);

    let atResolve: Buffer | undefined;
    await queue.append(lines(text)).then(() => {
      events.push('resolved');
      atResolve = readFileSync(join(dir, segName(1)));
    });

    expect(events).toEqual(['synced', 'resolved']);
    const bytes = atResolve as Buffer;
    const payload = Buffer.from(text, 'utf8');
    expect(bytes.length).toBe(HEADER + payload.length);
    expect(bytes.readUInt32LE(0)).toBe(payload.length);
    expect(bytes.readUInt32LE(4)).toBe(crc32(payload));
    expect(bytes.subarray(HEADER).toString('utf8')).toBe(text);
  });

  it('syncs many concurrent appends together and stores each exactly once', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const proto = await fileHandlePrototype();
    const syncs = jest.spyOn(proto, 'datasync');
    const queue = await openQueue(dir, fake);
    const texts = Array.from({ length: 100 }, (_, i) => line('group', i));

    await within('100 concurrent appends', Promise.all(texts.map((t) => queue.append(lines(t)))));

    // The first append's sync covers one batch; every other one arrived during it and shares the next.
    expect(syncs.mock.calls.length).toBeLessThanOrEqual(2);
    await until('all stored', () => fake.stored.length >= texts.length);
    expect(sorted(fake.stored)).toEqual(sorted(texts.map((t) => t.trimEnd())));
    expect(sorted(fake.bodies.flatMap(splitLines))).toEqual(sorted(fake.stored));
  });

  it('resolves appends made one after the other, each as soon as the previous one resolved', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const queue = await openQueue(dir, fake);
    const texts = Array.from({ length: 30 }, (_, i) => line('seq', i));

    // A plain await: the next append is made in the very microtask its predecessor's resolution runs (wrapping it
    // in within() would add a few turns and hide a hang), so a hang shows as this test's own timeout.
    for (const t of texts) await queue.append(lines(t));

    await until('all stored', () => fake.stored.length >= texts.length);
    expect(sorted(fake.stored)).toEqual(sorted(texts.map((t) => t.trimEnd())));
  }, 3_000);

  it('writes several batches per write within maxGroupBytes and maxInFlight, removes stored segments and empties its status', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const maxGroupBytes = 600;
    const queue = await openQueue(dir, fake, { segmentBytes: 1_000, maxGroupBytes, maxInFlight: 2 });
    const texts: string[] = [];
    const t0 = Date.now();
    for (let wave = 0; wave < 8; wave++) {
      const batch = Array.from({ length: 10 }, (_, i) => line(`w${wave}`, i));
      texts.push(...batch);
      await within(`wave ${wave}`, Promise.all(batch.map((t) => queue.append(lines(t)))));
    }
    const payloadBytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);

    await until('two writes held', () => fake.held.length === 2);
    expect(queue.status.batches).toBe(texts.length);
    expect(queue.status.bytes).toBe(payloadBytes);
    expect(queue.status.oldestMs).toBeGreaterThanOrEqual(t0);
    expect(queue.status.oldestMs).toBeLessThanOrEqual(Date.now());
    expect((await segFiles(dir)).length).toBeGreaterThan(2);
    // No third write while two are in flight (a negative check: a pause, then a look).
    await sleep(100);
    expect(fake.bodies).toHaveLength(2);

    fake.release();
    await until('all stored', () => fake.stored.length >= texts.length);
    expect(sorted(fake.stored)).toEqual(sorted(texts.map((t) => t.trimEnd())));
    expect(fake.maxInFlightSeen).toBeLessThanOrEqual(2);
    for (const b of fake.bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(maxGroupBytes);
    // Several batches per write, and no batch in two writes.
    expect(fake.bodies.length).toBeLessThan(texts.length / 3);
    expect(fake.bodies.flatMap(splitLines)).toHaveLength(texts.length);
    await until('status back to empty', () => queue.status.batches === 0);
    expect(queue.status).toEqual({ bytes: 0, batches: 0, rejected: 0, oldestMs: undefined });
    // Every segment but the one taking appends is removed once stored.
    await until('stored segments removed', async () => (await segFiles(dir)).length <= 1);
  });

  it('separates bodies with a newline when a batch does not end with one', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const queue = await openQueue(dir, fake, { maxInFlight: 1 });
    await queue.append(lines('first 1'));
    await until('first write held', () => fake.held.length === 1);
    await Promise.all([queue.append(lines('second value=2i')), queue.append(lines('third value=3i\n'))]);
    fake.release();
    await until('all stored', () => fake.stored.length >= 3);
    expect(fake.bodies).toEqual(['first 1\n', 'second value=2i\nthird value=3i\n']);
  });

  it('replaces a fully stored active segment of 1 MiB or more', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const queue = await openQueue(dir, fake);
    const big = `${'x'.repeat((1 << 20) + 100)}\n`;
    await queue.append(lines(big));
    await until('stored', () => fake.stored.length === 1);
    await until('segment removed', async () => (await segFiles(dir)).length === 0);
    await queue.append(lines(line('after', 1)));
    expect(await segFiles(dir)).toEqual([segName(2)]);
  });

  it('refuses appends before open and after close with StoreUnavailableError', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const queue = newQueue(dir, fake);
    await expect(queue.append(lines(line('early', 1)))).rejects.toThrow(StoreUnavailableError);
    await queue.open();
    await queue.close(0);
    await expect(queue.append(lines(line('late', 1)))).rejects.toThrow(/shutting down/);
    expect(fake.bodies).toHaveLength(0);
  });
});

describe('WriteQueue outage', () => {
  it('keeps acknowledging appends while send throws, retries, and delivers everything once when influxd is back', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.mode = 'down';
    const queue = await openQueue(dir, fake, { maxGroupBytes: 400 });
    const texts = Array.from({ length: 40 }, (_, i) => line('outage', i));

    await within('appends during the outage', Promise.all(texts.map((t) => queue.append(lines(t)))));
    await until('several retries', () => fake.failures >= 4);
    expect(fake.stored).toHaveLength(0);
    expect(queue.status.batches).toBe(texts.length);
    const waitingThroughOutage = queue.drained(4_000);
    await expect(queue.drained(50)).rejects.toThrow(StoreUnavailableError);
    await expect(queue.drained(50)).rejects.toThrow(/still wait in the write queue/);

    fake.mode = 'store';
    await within('drained() called during the outage', waitingThroughOutage);
    expect(sorted(fake.stored)).toEqual(sorted(texts.map((t) => t.trimEnd())));
    await expect(queue.drained(1_000)).resolves.toBeUndefined();
    expect(queue.status).toEqual({ bytes: 0, batches: 0, rejected: 0, oldestMs: undefined });
  });

  it('keeps a write that fails while in flight, and sends it again', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const queue = await openQueue(dir, fake);
    const text = line('inflight', 1);
    await queue.append(lines(text));
    await until('write held', () => fake.held.length === 1);
    fake.mode = 'down';
    (fake.held.shift() as { release: () => void }).release();
    await until('the failure', () => fake.failures === 1);
    await until('the write sent again', () => fake.held.length === 1);
    fake.mode = 'store';
    fake.release();
    await within('drained', queue.drained(4_000));
    expect(fake.stored).toEqual([text.trimEnd()]);
    expect(fake.sentCount(text)).toBe(2);
  });
});

describe('WriteQueue recovery', () => {
  const previousRun = [line('old', 1), line('old', 2), line('old', 3)];
  const lastSegment = [line('old', 4), line('old', 5)];
  const tornTails: Array<[string, Buffer]> = [
    ['a record cut short', record(line('torn', 1)).subarray(0, HEADER + 10)],
    ['a header cut short', record(line('torn', 1)).subarray(0, 5)],
    ['a bad checksum', record(line('torn', 1), 12345)],
  ];

  it.each(tornTails)('sends what a crashed run left, cuts off %s at the end of the last segment and takes over a dead lock', async (_, tail) => {
    const dir = await tempDir();
    const good = Buffer.concat(lastSegment.map((t) => record(t)));
    await writeFile(join(dir, segName(1)), Buffer.concat(previousRun.map((t) => record(t))));
    await writeFile(join(dir, segName(2)), Buffer.concat([good, tail]));
    const stale = await deadPid();
    await writeFile(join(dir, 'lock.pid'), String(stale));
    const { logger, logs } = captureLogger();
    const fake = new FakeInflux();
    fake.hold = true;

    const queue = await openQueue(dir, fake, { logger });

    expect(await readFile(join(dir, 'lock.pid'), 'utf8')).toBe(String(process.pid));
    expect(logs.some((l) => l.level === 'warn' && /dead process/.test(l.message) && l.fields['stalePid'] === stale)).toBe(true);
    expect((await stat(join(dir, segName(2)))).size).toBe(good.length);
    expect(logs.some((l) => l.level === 'warn' && /cut off/.test(l.message) && l.fields['file'] === join(dir, segName(2)))).toBe(true);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(queue.status.batches).toBe(5);

    fake.release();
    await within('drained', queue.drained(4_000));
    expect(sorted(fake.stored)).toEqual(sorted([...previousRun, ...lastSegment].map((t) => t.trimEnd())));
    expect(fake.bodies.join('')).not.toContain('torn');
    await until('recovered segments removed', async () => (await segFiles(dir)).length === 0);
    // New appends go to a new segment after the recovered ones.
    await queue.append(lines(line('new', 1)));
    expect(await segFiles(dir)).toEqual([segName(3)]);
  });

  it('logs an error and skips the rest of an earlier segment with a bad record', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, segName(1)), record(line('a', 1)));
    await writeFile(
      join(dir, segName(2)),
      Buffer.concat([record(line('b', 1)), record(line('b', 2), 7), record(line('b', 3))]),
    );
    await writeFile(join(dir, segName(3)), record(line('c', 1)));
    const { logger, logs } = captureLogger();
    const fake = new FakeInflux();

    const queue = await openQueue(dir, fake, { logger });
    await within('drained', queue.drained(4_000));

    expect(sorted(fake.stored)).toEqual(sorted([line('a', 1), line('b', 1), line('c', 1)].map((t) => t.trimEnd())));
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/checksum/);
    expect(errors[0]?.fields['file']).toBe(join(dir, segName(2)));
    expect(logs.some((l) => /cut off/.test(l.message))).toBe(false);
  });

  it('removes a last segment holding only a torn record', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, segName(1)), record(line('a', 1)));
    await writeFile(join(dir, segName(2)), record(line('torn', 1)).subarray(0, 12));
    const fake = new FakeInflux();
    fake.hold = true;
    const queue = await openQueue(dir, fake);
    expect(await segFiles(dir)).toEqual([segName(1)]);
    fake.release();
    await within('drained', queue.drained(4_000));
    expect(fake.stored).toEqual([line('a', 1).trimEnd()]);
  });

  it('leaves unsent batches on disk at close while influxd is down, and the next queue on the directory sends them', async () => {
    const dir = await tempDir();
    const { logger, logs } = captureLogger();
    const down = new FakeInflux();
    down.mode = 'down';
    const first = await openQueue(dir, down, { logger, segmentBytes: 200 });
    const texts = Array.from({ length: 12 }, (_, i) => line('kept', i));
    for (const t of texts) await within('append', first.append(lines(t)));
    await until('a failed write', () => down.failures >= 1);

    await within('close', first.close(50));

    expect(await exists(join(dir, 'lock.pid'))).toBe(false);
    expect((await segFiles(dir)).length).toBeGreaterThan(1);
    expect(sorted(await segRecords(dir))).toEqual(sorted(texts));
    expect(logs.some((l) => l.level === 'warn' && /stay on disk/.test(l.message) && l.fields['batches'] === texts.length)).toBe(true);

    const up = new FakeInflux();
    const second = await openQueue(dir, up);
    await within('drained', second.drained(4_000));
    expect(sorted(up.stored)).toEqual(sorted(texts.map((t) => t.trimEnd())));
    await until('segments removed', async () => (await segFiles(dir)).length === 0);
  });

  it('sends nothing again after a clean close that stored everything', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const first = await openQueue(dir, fake);
    const texts = Array.from({ length: 5 }, (_, i) => line('done', i));
    await Promise.all(texts.map((t) => first.append(lines(t))));
    await within('drained', first.drained(4_000));
    await first.close();
    const left = await segFiles(dir);

    const again = new FakeInflux();
    const second = await openQueue(dir, again);
    await sleep(100);
    expect(again.bodies).toEqual([]);
    expect(second.status.batches).toBe(0);
    expect(left).toEqual([]);
  });
});

describe('WriteQueue lock', () => {
  it('refuses a directory whose lock names a live process, naming the pid and INFLUX.queue_dir', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      await writeFile(join(dir, 'lock.pid'), String(pid));
      await writeFile(join(dir, segName(1)), record(line('theirs', 1)));
      const fake = new FakeInflux();
      const queue = newQueue(dir, fake);

      const err = (await queue.open().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain(`process ${pid}`);
      expect(err.message).toContain('INFLUX.queue_dir');
      expect(await readFile(join(dir, 'lock.pid'), 'utf8')).toBe(String(pid));
      expect(await segFiles(dir)).toEqual([segName(1)]);
      expect(fake.bodies).toEqual([]);

      // Once that process is gone, the directory can be taken.
      child.kill('SIGKILL');
      await once(child, 'exit');
      const after = await openQueue(dir, fake);
      await within('drained', after.drained(4_000));
      expect(fake.stored).toEqual([line('theirs', 1).trimEnd()]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
  });

  it('refuses to open a directory twice in one process, and opens it again after close', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const first = await openQueue(dir, fake);
    await expect(newQueue(dir, fake).open()).rejects.toThrow(/already open in this process.*INFLUX\.queue_dir/);
    expect(await readFile(join(dir, 'lock.pid'), 'utf8')).toBe(String(process.pid));
    await first.close();
    expect(await exists(join(dir, 'lock.pid'))).toBe(false);
    await expect(openQueue(dir, fake)).resolves.toBeInstanceOf(WriteQueue);
  });

  it('lets only one of two concurrent opens of a directory succeed', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const a = newQueue(dir, fake);
    const b = newQueue(dir, fake);
    const results = await Promise.allSettled([a.open(), b.open()]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason)).toMatch(/already open in this process/);
  });
});

describe('WriteQueue refusal', () => {
  it('splits a refused write, stores the good batches and keeps the refused one in rejected.lp', async () => {
    const dir = await tempDir();
    const { logger, logs } = captureLogger();
    const fake = new FakeInflux();
    fake.hold = true;
    const queue = await openQueue(dir, fake, { maxInFlight: 1, logger });
    const head = line('good', 0);
    await queue.append(lines(head));
    await until('first write held', () => fake.held.length === 1);
    const good1 = line('good', 1);
    const bad = `power,batch=${MARKER} value=1.5 1700000000000000001\n`;
    const good2 = line('good', 2);
    await Promise.all([good1, bad, good2].map((t) => queue.append(lines(t))));

    fake.release();
    await within('drained', queue.drained(4_000));

    expect(sorted(fake.stored)).toEqual(sorted([head, good1, good2].map((t) => t.trimEnd())));
    // The group of three, then each alone.
    expect(fake.bodies).toEqual([head, good1 + bad + good2, good1, bad, good2]);
    expect(fake.sentCount(head)).toBe(1);
    const rejected = await readFile(join(dir, 'rejected.lp'), 'utf8');
    const [comment, ...rest] = rejected.split('\n');
    expect(comment).toMatch(/^# \d{4}-\d\d-\d\dT[\d:.]+Z InfluxDB refused these lines for good: /);
    expect(comment).toContain(REFUSAL.replace('\n', ' '));
    expect(rest.join('\n')).toBe(bad);
    expect(queue.status).toEqual({ bytes: 0, batches: 0, rejected: 1, oldestMs: undefined });
    expect(logs.filter((l) => l.level === 'error').map((l) => l.fields['reason'])).toEqual([REFUSAL]);

    // Kept once: a restart neither sends the refused batch again nor adds it to rejected.lp a second time.
    await queue.close();
    const next = new FakeInflux();
    const reopened = await openQueue(dir, next);
    await sleep(100);
    expect(next.bodies).toEqual([]);
    expect(reopened.status.rejected).toBe(0);
    expect(await readFile(join(dir, 'rejected.lp'), 'utf8')).toBe(rejected);
  });
});

describe('WriteQueue full', () => {
  it('refuses appends beyond maxBytes with StoreUnavailableError naming INFLUX.queue_max_bytes, and takes them again once sent', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const maxBytes = 400;
    const queue = await openQueue(dir, fake, { maxBytes });
    const accepted: string[] = [];
    let refusal: unknown;
    for (let i = 0; i < 50 && refusal === undefined; i++) {
      const t = line('full', i);
      await within(`append ${i}`, queue.append(lines(t))).then(
        () => void accepted.push(t),
        (err: unknown) => (refusal = err),
      );
    }
    expect(refusal).toBeInstanceOf(StoreUnavailableError);
    expect((refusal as StoreUnavailableError).message).toContain(`INFLUX.queue_max_bytes is ${maxBytes}`);
    expect((refusal as StoreUnavailableError).retryAfterS).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(1);
    expect(queue.status.batches).toBe(accepted.length);
    expect(queue.status.bytes).toBeLessThanOrEqual(maxBytes);
    expect(queue.status.bytes).toBe(accepted.reduce((n, t) => n + Buffer.byteLength(t), 0));

    fake.release();
    await within('drained', queue.drained(4_000));
    const later = line('later', 1);
    await within('append after the release', queue.append(lines(later)));
    await within('drained', queue.drained(4_000));
    expect(sorted(fake.stored)).toEqual(sorted([...accepted, later].map((t) => t.trimEnd())));
  });

  it('takes a batch larger than maxBytes into an empty queue', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const queue = await openQueue(dir, fake, { maxBytes: 100 });
    const big = `${'y'.repeat(300)}\n`;
    await within('append', queue.append(lines(big)));
    await within('drained', queue.drained(4_000));
    expect(fake.stored).toEqual([big.trimEnd()]);
  });
});

describe('WriteQueue disk failure', () => {
  // Tests run as root, so a read-only directory does not stop the queue's writes. Failures are injected at the
  // FileHandle the queue writes through (after the bytes reached the file, so the cut-back is visible), and the
  // removal of the directory is a real one.
  it.each(['datasync', 'writev'] as const)(
    'refuses an append whose %s fails, cuts the file back to the last good record and goes on in a new segment',
    async (method) => {
      const dir = await tempDir();
      const fake = new FakeInflux();
      fake.hold = true;
      const proto = await fileHandlePrototype();
      const queue = await openQueue(dir, fake, { maxInFlight: 1 });
      const first = line('disk', 1);
      await queue.append(lines(first));
      await until('first write held', () => fake.held.length === 1);
      const goodBytes = HEADER + Buffer.byteLength(first);

      const original = proto[method] as (this: FileHandle, ...args: unknown[]) => Promise<unknown>;
      jest.spyOn(proto, method).mockImplementationOnce(async function (this: FileHandle, ...args: unknown[]) {
        await original.apply(this, args);
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      } as never);
      const lost = line('disk', 2);
      const err = await queue.append(lines(lost)).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toContain(dir);
      expect((err as Error).message).toContain('EIO');
      const data = await readFile(join(dir, segName(1)));
      expect(data.length).toBe(goodBytes);
      expect(parseSegment(data).texts).toEqual([first]);
      expect(queue.status.batches).toBe(1);

      const next = line('disk', 3);
      await within('append after the failure', queue.append(lines(next)));
      expect(await segFiles(dir)).toEqual([segName(1), segName(2)]);
      fake.release();
      await within('drained', queue.drained(4_000));
      expect(sorted(fake.stored)).toEqual(sorted([first, next].map((t) => t.trimEnd())));
      expect(fake.bodies.join('')).not.toContain(lost.trimEnd());
      expect(queue.status).toEqual({ bytes: 0, batches: 0, rejected: 0, oldestMs: undefined });
    },
  );

  it('keeps on disk what it acknowledges after its directory was removed', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const first = await openQueue(dir, fake);
    await first.append(lines(line('before', 1)));
    await within('drained', first.drained(4_000));

    await rm(dir, { recursive: true, force: true });
    fake.mode = 'down';
    const after = line('after', 1);
    await within('append after the removal', first.append(lines(after)));
    expect(await segRecords(dir)).toEqual([after]);
    await within('close', first.close(20));

    const up = new FakeInflux();
    const second = await openQueue(dir, up);
    await within('drained', second.drained(4_000));
    expect(up.stored).toEqual([after.trimEnd()]);
  });
});

describe('WriteQueue drained', () => {
  it('resolves at once when nothing is queued', async () => {
    const dir = await tempDir();
    const queue = await openQueue(dir, new FakeInflux());
    expect(await settledSoon(queue.drained(10_000), 30)).toBe(true);
  });

  it('waits for a batch being synced', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const proto = await fileHandlePrototype();
    const queue = await openQueue(dir, fake);
    const gate = deferred();
    let syncing = false;
    const datasync = proto.datasync;
    jest.spyOn(proto, 'datasync').mockImplementation(async function (this: FileHandle) {
      syncing = true;
      await gate.promise;
      await datasync.call(this);
    });
    const appended = queue.append(lines(line('sync', 1)));
    await until('the sync', () => syncing);

    const drained = queue.drained(4_000);
    expect(await settledSoon(drained, 30)).toBe(false);
    gate.resolve();
    await within('append', appended);
    await within('drained', drained);
    expect(fake.stored).toEqual([line('sync', 1).trimEnd()]);
  });

  it('waits for batches in flight and queued, and only for those appended before the call', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const queue = await openQueue(dir, fake, { maxInFlight: 1 });
    const a = line('in-flight', 1);
    await queue.append(lines(a));
    await until('write of a held', () => fake.held.length === 1);
    const b = line('queued', 1);
    await queue.append(lines(b));
    const forAB = queue.drained(4_000);
    expect(await settledSoon(forAB, 30)).toBe(false);
    await expect(queue.drained(30)).rejects.toThrow(StoreUnavailableError);

    // a stored: b was queued behind it and is in flight now, so drained() waits on.
    (fake.held.shift() as { release: () => void }).release();
    await until('write of b held', () => fake.held.length === 1);
    expect(await settledSoon(forAB, 30)).toBe(false);
    const forB = queue.drained(4_000);
    const c = line('later', 1);
    await queue.append(lines(c));
    // b stored; c, appended after both calls, is sent next and held.
    (fake.held.shift() as { release: () => void }).release();
    await within('drained for a and b', forAB);
    await within('drained for b', forB);
    await until('write of c held', () => fake.held.length === 1);
    expect(queue.status.batches).toBe(1);
    fake.release();
    await within('drained for c', queue.drained(4_000));
    expect(fake.stored).toEqual([a, b, c].map((t) => t.trimEnd()));
  });
});

describe('WriteQueue large and many batches', () => {
  it('cuts a batch larger than one write into records of whole lines, each sent alone within maxGroupBytes', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const queue = await openQueue(dir, fake, { maxGroupBytes: 1000, maxBytes: 1 << 20 });
    const text = Array.from({ length: 60 }, (_, i) => line('big', i)).join('');
    expect(text.length).toBeGreaterThan(3000);
    await within('append', queue.append(lines(text)));
    await within('drained', queue.drained(4_000));
    // Every line stored exactly once, none cut in two, no body over the bound.
    expect(sorted(fake.stored)).toEqual(sorted(splitLines(text)));
    for (const body of fake.bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1000);
    expect(fake.bodies.length).toBeGreaterThanOrEqual(4);
    expect(queue.status.batches).toBe(0);
  });

  it('syncs 1,500 batches that queued up behind a slow sync in one round, each stored once', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.hold = true;
    const proto = await fileHandlePrototype();
    const gate = deferred();
    let first = true;
    const datasync = proto.datasync;
    // The first sync waits until 1,500 appends queued up behind it: they go to disk in the next round together.
    jest.spyOn(proto, 'datasync').mockImplementation(async function (this: FileHandle) {
      if (first) {
        first = false;
        await gate.promise;
      }
      await datasync.call(this);
    });
    const queue = await openQueue(dir, fake, { maxBytes: 64 << 20 });
    const all = Array.from({ length: 1501 }, (_, i) => line('iov', i));
    const appends = all.map((l) => queue.append(lines(l)));
    gate.resolve();
    await within('appends', Promise.all(appends), 10_000);
    expect(sorted(await segRecords(dir)).map((t) => t.trimEnd())).toEqual(sorted(all.map((l) => l.trimEnd())));
    fake.release();
    await within('drained', queue.drained(8_000), 10_000);
    expect(sorted(fake.stored)).toEqual(sorted(all.map((l) => l.trimEnd())));
  });

  it('goes on writing after a short write (a writev that took part of the bytes)', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    const proto = await fileHandlePrototype();
    const writev = proto.writev;
    let cut = true;
    // The first writev takes 10 bytes only, as a kernel may.
    jest.spyOn(proto, 'writev').mockImplementation(async function (this: FileHandle, buffers: readonly NodeJS.ArrayBufferView[], position?: number) {
      if (!cut) return writev.call(this, buffers, position);
      cut = false;
      const first = buffers[0] as Buffer;
      return writev.call(this, [first.subarray(0, 10)], position);
    } as FileHandle['writev']);
    const queue = await openQueue(dir, fake);
    const all = [line('short', 1), line('short', 2)];
    await within('appends', Promise.all(all.map((l) => queue.append(lines(l)))));
    expect(sorted(await segRecords(dir))).toEqual(sorted(all));
    await within('drained', queue.drained(4_000));
    expect(sorted(fake.stored)).toEqual(sorted(all.map((l) => l.trimEnd())));
  });

  it('tries influxd at once when a reader waits, rather than at the end of the back-off', async () => {
    const dir = await tempDir();
    const fake = new FakeInflux();
    fake.mode = 'down';
    const queue = await openQueue(dir, fake, { minRetryMs: 60_000, maxRetryMs: 60_000 });
    await queue.append(lines(line('kick', 1)));
    await until('the first failed write', () => fake.failures === 1);
    fake.mode = 'store';
    // The next retry is a minute away: drained() must not wait for it.
    await within('drained', queue.drained(3_000), 4_000);
    expect(fake.stored).toEqual([line('kick', 1).trimEnd()]);
  });
});
