import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import type { MeasurementBatch } from '@energyrecorder/core';
import { Pusher } from '../src/internal/pusher.js';
import { Spool } from '../src/internal/spool.js';
import type { ApiTransport, PostOutcome } from '../src/internal/transport.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import { captureLogger, type LogLine } from './helpers/capture-logger.js';

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

  it('drops the oldest queued batches beyond the memory bound and counts them when the spool cannot be written', async () => {
    const lines: LogLine[] = [];
    const transport = new MemoryTransport();
    const append = jest.spyOn(spool, 'append').mockRejectedValue(enospc());
    const p = new Pusher({ spool, transport, flushIntervalMs: 1000, maxPendingBytes: 20_000, logger: captureLogger(lines) });
    for (let s = 0; s < 100; s++) {
      for (let d = 0; d < 10; d++) p.enqueue(batch(`d${d}`, s));
      await p.flush();
    }
    const status = p.status();
    expect(status.pendingBatches).toBeGreaterThan(0);
    expect(status.pendingBatches).toBeLessThan(200);
    expect(status.droppedBatches).toBe(1000 - status.pendingBatches);
    expect(status.droppedReadings).toBe(status.droppedBatches);
    expect(lines.some((l) => l.level === 'warn' && /oldest batches dropped/.test(l.msg))).toBe(true);
    // Once the disk has room again, the newest batches are what is delivered.
    append.mockRestore();
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
    const transport = new MemoryTransport();
    const append = jest.spyOn(spool, 'append').mockRejectedValue(enospc());
    const p = new Pusher({ spool, transport, flushIntervalMs: 100, logger: captureLogger(lines) });
    for (let i = 0; i < 20; i++) {
      p.enqueue(batch('d', i));
      await p.flush();
    }
    expect(p.status().spoolError).toMatch(/append failed: ENOSPC/);
    const failed = lines.filter((l) => l.level === 'error' && /spool append failed/.test(l.msg));
    expect(failed.map((l) => l.fields['failures'])).toEqual([1, 2, 3, 4, 8, 16]);
    append.mockRestore();
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
