import { existsSync, rmSync } from 'node:fs';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import type { MeasurementBatch } from '@energyrecorder/core';
import { Pusher } from '../src/internal/pusher.js';
import { Spool } from '../src/internal/spool.js';
import type { ApiTransport, PostOutcome } from '../src/internal/transport.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import { captureLogger, type LogLine } from './helpers/capture-logger.js';
import { smallDisk, type SmallDisk } from './helpers/small-disk.js';

const T0 = 1_763_000_000_000_000_000;

function batch(device: string, value: number, readings = 1): MeasurementBatch {
  return {
    equipmentId: device,
    environment: 'POD 1',
    topology: { dc: 'myDC' },
    collectTimeNs: T0 + value,
    readings: Array.from({ length: readings }, (_, k) => ({ sensor: `s${k}`, unit: 'W', value, timestampNs: T0 + k })),
  };
}

/**
 * An in-memory API answering with `answer`: these tests are about the spool side of the pusher; the HTTP side is
 * tested against real servers in the integration suites.
 */
class MemoryTransport implements ApiTransport {
  readonly bodies: { device: string; body: { environment: string; time: number; measurements: { value: number }[] } }[] = [];
  answer: () => PostOutcome = () => ({ kind: 'ok' });

  async post(equipmentId: string, body: string): Promise<PostOutcome> {
    const outcome = this.answer();
    if (outcome.kind === 'ok') this.bodies.push({ device: equipmentId, body: JSON.parse(body) as MemoryTransport['bodies'][number]['body'] });
    return outcome;
  }

  async close(): Promise<void> {
    // nothing to release
  }
}

/** Advances the fake clock step by step until `check` holds: the spool does real file I/O between timers. */
async function advanceUntil(clock: FakeClock, check: () => boolean, stepMs: number, maxMs: number): Promise<void> {
  for (let t = 0; t < maxMs && !check(); t += stepMs) {
    await clock.advance(stepMs);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });

describe('Pusher', () => {
  let dir: string;
  let spool: Spool;

  beforeEach(async () => {
    dir = makeTempDir('pusher-unit');
    spool = await Spool.open(dir, { maxBytes: 64 << 20, fsync: false });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await spool.close();
    removeDir(dir);
  });

  it('spools a huge poll as batches of at most maxBatchReadings with the poll fields when it is queued', async () => {
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', status: 503, message: 'down' });
    const p = new Pusher({ spool, transport, flushIntervalMs: 50, maxBatchReadings: 10_000 });
    p.enqueue(batch('ftp', 5, 25_000));
    await p.flush();
    const spooled = await spool.peek(100);
    expect(spooled.map((r) => r.readings)).toEqual([10_000, 10_000, 5_000]);
    for (const { record } of spooled) {
      expect(record).toMatchObject({ environment: 'POD 1', equipmentId: 'ftp', time: T0 + 5, topology: { dc: 'myDC' } });
    }
    expect(spooled.flatMap((r) => r.record.measurements.map((m) => m.sensor))).toEqual(
      Array.from({ length: 25_000 }, (_, k) => `s${k}`),
    );
  });

  it('logs, keeps the batches and retries with back-off when the spool throws during a timer flush', async () => {
    const clock = new FakeClock(1_000_000);
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const realCommit = spool.commit.bind(spool);
    const commit = jest.spyOn(spool, 'commit').mockRejectedValueOnce(enospc()).mockImplementation(realCommit);
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, logger: captureLogger(lines) });
    try {
      p.start();
      p.enqueue(batch('d', 1));
      const failed = (): LogLine[] => lines.filter((l) => l.level === 'error' && /spool read or commit failed/.test(l.msg));
      await advanceUntil(clock, () => failed().length > 0, 100, 1000);
      expect(String(failed()[0]?.fields['err'])).toMatch(/ENOSPC/);
      expect(spool.depth().records).toBe(1);
      await advanceUntil(clock, () => commit.mock.calls.length >= 2, 100, 3000);
      await settle();
      expect(failed()).toHaveLength(1);
      expect(commit).toHaveBeenCalledTimes(2);
      expect(spool.depth().records).toBe(0);
      // Sent once: the batch confirmed before the failed commit is not posted again.
      expect(transport.bodies).toHaveLength(1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await p.stop(100);
    }
  });

  it('drops the oldest queued batches beyond the memory bound and counts them when the spool cannot be written and the API is down', async () => {
    const lines: LogLine[] = [];
    const clock = new FakeClock(1_000_000);
    const transport = new MemoryTransport();
    // The API is down too: only then do batches pile up in memory (with the API up they are sent from there).
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    const append = jest.spyOn(spool, 'append').mockRejectedValue(enospc());
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 1000, maxPendingBytes: 20_000, logger: captureLogger(lines) });
    for (let s = 0; s < 100; s++) {
      for (let d = 0; d < 10; d++) p.enqueue(batch(`d${d}`, s));
      await p.flush();
      await clock.advance(1000);
    }
    const status = p.status();
    expect(status.pendingBatches).toBeGreaterThan(0);
    expect(status.pendingBatches).toBeLessThan(200);
    expect(status.droppedBatches).toBe(1000 - status.pendingBatches);
    expect(status.droppedReadings).toBe(status.droppedBatches);
    expect(lines.some((l) => l.level === 'warn' && /oldest batches dropped/.test(l.msg))).toBe(true);
    // Once the disk has room again and the API is back, the newest batches are what is delivered.
    append.mockRestore();
    transport.answer = () => ({ kind: 'ok' });
    await clock.advance(60_000);
    await p.flush();
    const values = transport.bodies.map((b) => b.body.measurements[0]?.value ?? -1);
    expect(values).toHaveLength(status.pendingBatches);
    expect(Math.min(...values)).toBeGreaterThan(80);
    expect(Math.max(...values)).toBe(99);
    await p.stop(100);
  });

  it('retries after its back-off, not after the step, when the wall clock is stepped back during an outage', async () => {
    const clock = new FakeClock(1_000_000_000);
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, maxRetryDelayMs: 1000 });
    p.start();
    p.enqueue(batch('d', 1));
    await advanceUntil(clock, () => p.status().retries > 0, 100, 1000);
    transport.answer = () => ({ kind: 'ok' });
    clock.stepWallClock(-3600_000);
    await advanceUntil(clock, () => transport.bodies.length > 0, 100, 5000);
    expect(transport.bodies).toHaveLength(1);
    await p.stop(100);
  });

  it('keeps the batch, says what to fix (throttled) and reports it until a delivery when the API refuses for a setting', async () => {
    const clock = new FakeClock(1_000_000);
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', status: 401, message: 'bad credentials', fix: 'check user and pass' });
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, maxRetryDelayMs: 1000, logger: captureLogger(lines) });
    p.enqueue(batch('d', 1, 3));
    for (let i = 0; i < 20; i++) {
      await p.flush();
      await clock.advance(1000);
    }
    const status = p.status();
    expect(status).toMatchObject({
      spoolBatches: 1,
      rejectedBatches: 0,
      droppedReadings: 0,
      apiReachable: false,
      refusedBySettings: { status: 401, message: 'bad credentials', fix: 'check user and pass' },
    });
    const refused = lines.filter((l) => l.fields['code'] === 'ER_PUSH_REFUSED');
    // The first three, then on powers of two: 1, 2, 3, 4, 8, 16 of 20.
    expect(refused.map((l) => l.fields['refusals'])).toEqual([1, 2, 3, 4, 8, 16]);
    expect(refused[0]?.msg).toMatch(/401: check user and pass; batches are kept/);
    expect(lines.filter((l) => l.fields['code'] === 'ER_PUSH_REJECTED')).toEqual([]);
    transport.answer = () => ({ kind: 'ok' });
    await p.flush();
    expect(transport.bodies).toHaveLength(1);
    expect(p.status().refusedBySettings).toBeUndefined();
    expect(p.status().spoolBatches).toBe(0);
    await p.stop(100);
  });

  it('logs the time and readings of a batch dropped for its content and counts the readings', async () => {
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'rejected', status: 400, message: 'time: 1763000 looks like ms' });
    const p = new Pusher({ spool, transport, flushIntervalMs: 100, logger: captureLogger(lines) });
    p.enqueue(batch('d', 7, 3));
    await p.flush();
    expect(p.status()).toMatchObject({ rejectedBatches: 1, rejectedReadings: 3, spoolBatches: 0 });
    const rejected = lines.filter((l) => l.fields['code'] === 'ER_PUSH_REJECTED');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.fields).toMatchObject({ device: 'd', status: 400, time: T0 + 7, readings: 3 });
    await p.stop(100);
  });

  it('clears lastError once a batch is delivered after a failure', async () => {
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', status: 503, message: 'influx down' });
    const clock = new FakeClock(1_000_000);
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100 });
    p.enqueue(batch('d', 1));
    await p.flush();
    expect(p.status().lastError).toBe('503: influx down');
    transport.answer = () => ({ kind: 'ok' });
    await clock.advance(60_000);
    await p.flush();
    expect(p.status()).toMatchObject({ apiReachable: true, deliveredBatches: 1 });
    expect(p.status().lastError).toBeUndefined();
    await p.stop(100);
  });

  it('reports the spool error, throttles its log and clears both once appends work again', async () => {
    const lines: LogLine[] = [];
    const clock = new FakeClock(1_000_000);
    const transport = new MemoryTransport();
    // With the API down, so that every batch is still in memory when the disk has room again.
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    const append = jest.spyOn(spool, 'append').mockRejectedValue(enospc());
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, logger: captureLogger(lines) });
    for (let i = 0; i < 20; i++) {
      p.enqueue(batch('d', i));
      await p.flush();
    }
    expect(p.status().spoolError).toMatch(/append failed: ENOSPC/);
    const failed = lines.filter((l) => l.level === 'error' && /spool append failed/.test(l.msg));
    expect(failed.map((l) => l.fields['failures'])).toEqual([1, 2, 3, 4, 8, 16]);
    append.mockRestore();
    transport.answer = () => ({ kind: 'ok' });
    await clock.advance(60_000);
    await p.flush();
    expect(p.status().spoolError).toBeUndefined();
    expect(lines.some((l) => l.msg === 'spool writable again')).toBe(true);
    expect(transport.bodies).toHaveLength(20);
    await p.stop(100);
  });

  it('tells how long batches have waited without a delivery, and 0 once one is delivered', async () => {
    const clock = new FakeClock(1_000_000);
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, maxRetryDelayMs: 1000 });
    expect(p.status().undeliveredForMs).toBe(0);
    await clock.advance(60_000);
    p.enqueue(batch('d', 1));
    await p.flush();
    await clock.advance(600_000);
    p.enqueue(batch('d', 2));
    await p.flush();
    // Counted from the first batch that found the queue empty, not from the start.
    expect(p.status().undeliveredForMs).toBe(600_000);
    transport.answer = () => ({ kind: 'ok' });
    await clock.advance(1000);
    await p.flush();
    expect(p.status()).toMatchObject({ undeliveredForMs: 0, spoolBatches: 0 });
    await p.stop(100);
  });
});

describe('Pusher when the spool cannot be written', () => {
  let dir: string;
  let spool: Spool;
  let disk: SmallDisk | undefined;

  beforeEach(async () => {
    dir = makeTempDir('pusher-disk');
    spool = await Spool.open(dir, { maxBytes: 64 << 20, fsync: false });
  });
  afterEach(async () => {
    disk?.restore();
    disk = undefined;
    await spool.close();
    removeDir(dir);
  });

  /** Per device, the values the API received, in the order it received them. */
  function received(transport: MemoryTransport): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const b of transport.bodies) (out[b.device] ??= []).push(b.body.measurements[0]?.value ?? -1);
    return out;
  }

  const upTo = (n: number, from = 0): number[] => Array.from({ length: n - from }, (_, i) => from + i);

  it('keeps delivering from memory, in order, when another file filled the disk while the API is up', async () => {
    const clock = new FakeClock(1_000_000);
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, logger: captureLogger(lines) });
    for (let i = 0; i < 3; i++) {
      p.enqueue(batch('a', i));
      p.enqueue(batch('b', i));
      await p.flush();
    }
    disk = await smallDisk(dir, 0);
    disk.fill();
    for (let i = 3; i < 20; i++) {
      p.enqueue(batch('a', i));
      p.enqueue(batch('b', i));
      await p.flush();
      await clock.advance(100);
    }
    expect(disk.refusals()).toBeGreaterThan(0);
    expect(received(transport)).toEqual({ a: upTo(20), b: upTo(20) });
    expect(p.status()).toMatchObject({ pendingBatches: 0, droppedReadings: 0, deliveredBatches: 40, apiReachable: true });
    expect(p.status().spoolError).toMatch(/ENOSPC/);
    // Room again: the next batch goes through the spool and the error clears.
    disk.capacity = 1 << 20;
    p.enqueue(batch('a', 20));
    await p.flush();
    expect(p.status().spoolError).toBeUndefined();
    expect(received(transport)['a']).toEqual(upTo(21));
    await p.stop(100);
  });

  it('sends the spool then the batches in memory and gets its space back when the API returns after the spool filled the disk', async () => {
    const clock = new FakeClock(1_000_000);
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    disk = await smallDisk(dir, 6000);
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, maxRetryDelayMs: 1000 });
    let i = 0;
    for (let failedFlushes = 0; failedFlushes < 5 && i < 500; i++) {
      p.enqueue(batch('a', i));
      p.enqueue(batch('b', i));
      await p.flush();
      await clock.advance(100);
      if (p.status().spoolError !== undefined) failedFlushes++;
    }
    const spooled = p.status().spoolBatches;
    expect(spooled).toBeGreaterThan(0);
    expect(p.status().pendingBatches).toBeGreaterThanOrEqual(10);
    expect(transport.bodies).toEqual([]);
    transport.answer = () => ({ kind: 'ok' });
    await clock.advance(2000);
    await p.flush();
    // Everything once, each device in order: the spooled batches first, then those held in memory.
    expect(received(transport)).toEqual({ a: upTo(i), b: upTo(i) });
    expect(p.status()).toMatchObject({ pendingBatches: 0, spoolBatches: 0, droppedReadings: 0 });
    // Sending gave the spool its space back: batches are spooled again without anything else being freed.
    expect(p.status().spoolError).toBeUndefined();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    p.enqueue(batch('a', i));
    await clock.advance(2000);
    await p.flush();
    expect(p.status()).toMatchObject({ spoolBatches: 1, pendingBatches: 0 });
    expect(p.status().spoolError).toBeUndefined();
    transport.answer = () => ({ kind: 'ok' });
    await p.stop(100);
  });

  it('replays the spool after a restart on a disk the spool filled, along with the new batches', async () => {
    const clock = new FakeClock(1_000_000);
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    disk = await smallDisk(dir, 6000);
    const first = new Pusher({ spool, transport, clock, flushIntervalMs: 100, maxRetryDelayMs: 1000 });
    let i = 0;
    for (; first.status().spoolError === undefined && i < 500; i++) {
      first.enqueue(batch('a', i));
      await first.flush();
      await clock.advance(100);
    }
    // The batch the spool refused is lost at this stop (API down): counted, and logged by the stop.
    await first.stop(100);
    const spooled = spool.depth().records;
    expect(spooled).toBe(i - 1);
    await spool.close();
    // Restart with the disk still full.
    spool = await Spool.open(dir, { maxBytes: 64 << 20, fsync: false });
    transport.answer = () => ({ kind: 'ok' });
    const second = new Pusher({ spool, transport, clock, flushIntervalMs: 100 });
    second.enqueue(batch('a', 1000));
    await second.flush();
    expect(received(transport)['a']).toEqual([...upTo(spooled), 1000]);
    expect(spool.depth().records).toBe(0);
    second.enqueue(batch('a', 1001));
    await second.flush();
    expect(second.status().spoolError).toBeUndefined();
    expect(received(transport)['a']).toEqual([...upTo(spooled), 1000, 1001]);
    await second.stop(100);
  });

  it('throttles the append error across short recoveries when the disk stays nearly full', async () => {
    const clock = new FakeClock(1_000_000);
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    const realAppend = spool.append.bind(spool);
    let calls = 0;
    // Every other append fails: the space a sent segment gives back is taken again at once.
    let fails = (): boolean => ++calls % 2 === 1;
    jest.spyOn(spool, 'append').mockImplementation(async (records) => {
      if (fails()) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      await realAppend(records);
    });
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, logger: captureLogger(lines) });
    for (let i = 0; i < 40; i++) {
      p.enqueue(batch('a', i));
      await p.flush();
      await clock.advance(1000);
    }
    expect(received(transport)).toEqual({ a: upTo(40) });
    const errors = lines.filter((l) => l.level === 'error' && /spool append failed/.test(l.msg));
    expect(errors.map((l) => l.fields['failures'])).toEqual([1, 2, 3, 4, 8, 16]);
    // A failure after a quiet spell is a new episode, logged again.
    await clock.advance(11 * 60_000);
    fails = () => true;
    p.enqueue(batch('a', 40));
    await p.flush();
    expect(lines.filter((l) => l.level === 'error' && /spool append failed/.test(l.msg)).at(-1)?.fields['failures']).toBe(1);
    await p.stop(100);
  });

  it('delivers the batches held in memory at shutdown when the spool cannot be written and the API is up', async () => {
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    disk = await smallDisk(dir, 0);
    disk.fill();
    const p = new Pusher({ spool, transport, flushIntervalMs: 1000, logger: captureLogger(lines) });
    for (let i = 0; i < 5; i++) p.enqueue(batch('a', i, 3));
    await p.stop(1000);
    expect(received(transport)).toEqual({ a: upTo(5) });
    expect(p.status()).toMatchObject({ droppedReadings: 0, pendingBatches: 0 });
    expect(lines.filter((l) => l.level === 'error' && /readings lost/.test(l.msg))).toEqual([]);
  });

  it('logs and counts the readings lost at shutdown when neither the spool nor the API takes them', async () => {
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    disk = await smallDisk(dir, 0);
    disk.fill();
    const p = new Pusher({ spool, transport, flushIntervalMs: 1000, logger: captureLogger(lines) });
    for (let i = 0; i < 5; i++) p.enqueue(batch('a', i, 3));
    await p.stop(1000);
    const lost = lines.filter((l) => l.level === 'error' && /readings lost/.test(l.msg));
    expect(lost).toHaveLength(1);
    expect(lost[0]?.fields).toMatchObject({ batches: 5, readings: 15 });
    expect(lost[0]?.msg).toMatch(/^shutdown: 15 readings lost/);
    expect(p.status()).toMatchObject({ droppedBatches: 5, droppedReadings: 15, pendingBatches: 0 });
  });

  it('delivers what was spooled and what comes next when the spool directory is removed while running', async () => {
    const clock = new FakeClock(1_000_000);
    const transport = new MemoryTransport();
    const p = new Pusher({ spool, transport, clock, flushIntervalMs: 100, maxRetryDelayMs: 1000 });
    p.enqueue(batch('a', 0));
    await p.flush();
    transport.answer = () => ({ kind: 'retry', message: 'ECONNREFUSED' });
    for (let i = 1; i < 5; i++) {
      p.enqueue(batch('a', i));
      await p.flush();
    }
    expect(spool.depth().records).toBe(4);
    rmSync(dir, { recursive: true, force: true });
    transport.answer = () => ({ kind: 'ok' });
    await clock.advance(2000);
    for (let i = 5; i < 8; i++) {
      p.enqueue(batch('a', i));
      await p.flush();
    }
    expect(received(transport)).toEqual({ a: upTo(8) });
    expect(p.status()).toMatchObject({ spoolBatches: 0, droppedReadings: 0 });
    expect(p.status().spoolError).toBeUndefined();
    expect(existsSync(dir)).toBe(true);
    await p.stop(100);
  });
});

