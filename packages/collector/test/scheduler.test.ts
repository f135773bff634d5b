import { createAdapterRegistry, type Logger, type MeasurementBatch } from '@energyrecorder/core';
import { PollScheduler } from '../src/internal/scheduler.js';
import type { ResolvedEnvironment } from '../src/internal/config.js';
import { FakeClock, settle } from './helpers/fake-clock.js';
import { newScriptState, scriptedAdapter, type ScriptState } from './helpers/test-adapters.js';

function env(name: string, intervalMs: number, devices: string[], state: ScriptState, extra = ''): ResolvedEnvironment {
  const registry = createAdapterRegistry([scriptedAdapter(state)]);
  return {
    name,
    intervalMs,
    devices: devices.map((d) => {
      const entry = { id: d, type: 'scripted', name: d, extra };
      return { key: `${name}/${d}`, id: d, type: 'scripted', adapter: registry.parse(entry), fingerprint: JSON.stringify(entry) };
    }),
  };
}

function setup(startMs = 1_000_000_250): {
  clock: FakeClock;
  state: ScriptState;
  batches: MeasurementBatch[];
  scheduler: PollScheduler;
} {
  const clock = new FakeClock(startMs);
  const state = newScriptState();
  const batches: MeasurementBatch[] = [];
  const scheduler = new PollScheduler({
    onBatch: (b) => batches.push(b),
    clock,
    nowNs: () => clock.nowMs() * 1e6,
    random: () => 1,
  });
  return { clock, state, batches, scheduler };
}

const readsOf = (batches: MeasurementBatch[], id: string): number => batches.filter((b) => b.equipmentId === id).length;

describe('PollScheduler', () => {
  it('ticks two PODS entries of one environment each on its own interval and topology, as the original\'s pollers', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    const fast = { ...env('E', 1000, ['fast'], state), topology: { rack: 'r1' } };
    const slow = { ...env('E', 5000, ['slow'], state), entry: 2 };
    scheduler.setEnvironments([fast, slow]);
    scheduler.start();
    await clock.advance(10_000);
    expect(readsOf(batches, 'fast')).toBe(10);
    expect(readsOf(batches, 'slow')).toBe(2);
    expect(batches.every((b) => b.environment === 'E')).toBe(true);
    expect(batches.filter((b) => b.equipmentId === 'fast').every((b) => b.topology?.['rack'] === 'r1')).toBe(true);
    expect(batches.filter((b) => b.equipmentId === 'slow').every((b) => b.topology === undefined)).toBe(true);
    expect(scheduler.status().map((e) => [e.name, e.entry, e.intervalMs, e.ticks])).toEqual([
      ['E', undefined, 1000, 10],
      ['E', 2, 5000, 2],
    ]);
    // Delivery confirmations reach the device whichever entry holds it.
    await scheduler.acknowledge('E', 'slow', () => [{ sensor: 'power', unit: 'W', value: 1, timestampNs: 1 }], 1000);
    expect(state.acked.get('slow')).toHaveLength(1);
    // A reload that drops the second entry keeps the first one's device and retires the other's.
    scheduler.setEnvironments([fast]);
    expect(state.closed.get('fast')).toBeUndefined();
    await settle();
    expect(state.closed.get('slow')).toBe(1);
    await scheduler.stop(0);
  });

  it('reads every device on wall-clock multiples of the interval after its first read when started between boundaries', async () => {
    const { clock, state, batches, scheduler } = setup(1_000_000_250);
    scheduler.setEnvironments([env('E', 1000, ['a', 'b'], state)]);
    scheduler.start();
    await clock.advance(700);
    expect(batches).toHaveLength(0);
    await clock.advance(50); // 1_000_001_000: the first boundary, where the first reads begin
    expect(batches.map((b) => [b.equipmentId, b.collectTimeNs])).toEqual([['a', 1_000_001_000 * 1e6]]);
    await clock.advance(500); // the second device's first read, half an interval later
    expect(batches.map((b) => [b.equipmentId, b.collectTimeNs])).toEqual([
      ['a', 1_000_001_000 * 1e6],
      ['b', 1_000_001_500 * 1e6],
    ]);
    await clock.advance(2500);
    expect(readsOf(batches, 'a')).toBe(4);
    expect(readsOf(batches, 'b')).toBe(4);
    const later = batches.slice(2);
    expect(later.every((b) => b.environment === 'E' && (b.collectTimeNs / 1e6) % 1000 === 0)).toBe(true);
    const devices = scheduler.status()[0]?.devices ?? [];
    expect(devices.map((d) => [d.ticks, d.onTimeReads])).toEqual([
      [4, 4],
      [4, 4],
    ]);
    await scheduler.stop(0);
  });

  it('spreads the first reads of many devices evenly over the first interval when they start together', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
    scheduler.setEnvironments([env('E', 1000, ids, state)]);
    scheduler.start();
    await clock.advance(1999);
    expect(batches.map((b) => [b.equipmentId, b.collectTimeNs / 1e6])).toEqual(
      ids.map((id, i) => [id, 1000 + i * 125]),
    );
    await clock.advance(1);
    // From the second boundary on, every device is read on it.
    expect(batches.slice(8).map((b) => b.collectTimeNs / 1e6)).toEqual(ids.map(() => 2000));
    await scheduler.stop(0);
  });

  it('spreads the first reads of devices a reload adds over the interval after the next boundary', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    scheduler.setEnvironments([env('E', 1000, ['old'], state)]);
    scheduler.start();
    await clock.advance(2300);
    scheduler.setEnvironments([env('E', 1000, ['old', 'n0', 'n1', 'n2', 'n3'], state)]);
    await clock.advance(1700); // t = 4000
    const firstOf = (id: string): number | undefined => batches.find((b) => b.equipmentId === id)?.collectTimeNs;
    expect(['n0', 'n1', 'n2', 'n3'].map((id) => (firstOf(id) ?? 0) / 1e6)).toEqual([3000, 3250, 3500, 3750]);
    expect(readsOf(batches, 'old')).toBe(4);
    expect(['n0', 'n1', 'n2', 'n3'].map((id) => readsOf(batches, id))).toEqual([2, 2, 2, 2]);
    await scheduler.stop(0);
  });

  it('gives a slow first read up to one interval before a tick counts as missed when it started late in the interval', async () => {
    const { clock, state, scheduler } = setup(0);
    state.behaviour.set('slow', { kind: 'hang-ignore' });
    scheduler.setEnvironments([env('E', 1000, ['fast', 'slow'], state)]);
    scheduler.start();
    await clock.advance(2000); // slow's first read started at 1500 and still runs at the 2000 boundary
    let slow = scheduler.status()[0]?.devices.find((d) => d.id === 'slow');
    expect(slow?.missedTicks).toBe(0);
    expect(slow?.ticks).toBe(1);
    await clock.advance(1000); // 3000: a whole interval after the first read: missed
    slow = scheduler.status()[0]?.devices.find((d) => d.id === 'slow');
    expect(slow?.missedTicks).toBe(1);
    expect(slow?.ticks).toBe(2);
    await scheduler.stop(0);
  });

  it('counts a missed tick and does not queue it when a device is still busy', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    state.behaviour.set('busy', { kind: 'hang-ignore' });
    scheduler.setEnvironments([env('E', 1000, ['busy', 'ok'], state)]);
    scheduler.start();
    await clock.advance(1000); // read starts and never ends
    await clock.advance(1000); // still busy: missed
    await clock.advance(1000); // missed again
    const dev = scheduler.status()[0]?.devices.find((d) => d.id === 'busy');
    expect(dev?.missedTicks).toBe(2);
    expect(state.reads.get('busy')).toBe(1);
    expect(readsOf(batches, 'ok')).toBe(3);
    await scheduler.stop(0);
  });

  it('abandons a read that ignores its signal and re-creates the adapter when it stays busy for 3 intervals', async () => {
    const { clock, state, scheduler } = setup(0);
    state.behaviour.set('stuck', { kind: 'hang-ignore' });
    scheduler.setEnvironments([env('E', 1000, ['stuck'], state)]);
    scheduler.start();
    await clock.advance(3500);
    state.behaviour.set('stuck', { kind: 'ok', value: 5 });
    await clock.advance(10_000);
    const dev = scheduler.status()[0]?.devices[0];
    expect(dev?.abandoned).toBe(1);
    expect(state.created.get('stuck')).toBe(2);
    expect(state.closed.get('stuck')).toBeGreaterThanOrEqual(1);
    expect(dev?.consecutiveFailures).toBe(0);
    await scheduler.stop(0);
  });

  it('times a hanging read out before the next tick and backs off exponentially when a device keeps failing', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    state.behaviour.set('bad', { kind: 'hang' });
    scheduler.setEnvironments([env('E', 1000, ['bad', 'good'], state)]);
    scheduler.start();
    await clock.advance(1000);
    await clock.advance(800); // 80 % of the interval: the read is aborted
    let dev = scheduler.status()[0]?.devices.find((d) => d.id === 'bad');
    expect(dev?.failures).toBe(1);
    expect(dev?.lastError).toMatch(/ER_TIMEOUT/);
    state.behaviour.set('bad', { kind: 'fail' });
    await clock.advance(60_000 - 1800);
    dev = scheduler.status()[0]?.devices.find((d) => d.id === 'bad');
    // random() = 1 gives the full delay: attempts at 1, 2, 4, 8, 16, 32 s after each failure: 6 in a minute.
    expect(dev?.reads).toBe(6);
    expect(dev?.backoffSkips).toBeGreaterThan(40);
    // Every failure closes the adapter; the next attempt creates a new one.
    expect(state.created.get('bad')).toBe(6);
    expect(readsOf(batches, 'good')).toBe(60);
    await scheduler.stop(0);
  });

  it('waits as long as a busy device asks (Retry-After) before reading it again, within the back-off bound', async () => {
    const { clock, state, scheduler } = setup(0);
    state.behaviour.set('busy', { kind: 'busy', retryAfterMs: 20_000 });
    scheduler.setEnvironments([env('E', 1000, ['busy'], state)]);
    scheduler.start();
    await clock.advance(1000);
    expect(state.reads.get('busy')).toBe(1);
    // The exponential back-off alone would have tried again after 1 s, then 2 s, 4 s and 8 s.
    await clock.advance(19_500);
    expect(state.reads.get('busy')).toBe(1);
    await clock.advance(1000);
    expect(state.reads.get('busy')).toBe(2);
    // A Retry-After beyond the back-off cap (60 s by default) is capped.
    state.behaviour.set('busy', { kind: 'busy', retryAfterMs: 86_400_000 });
    await clock.advance(20_000);
    expect(state.reads.get('busy')).toBe(3);
    await clock.advance(61_000);
    expect(state.reads.get('busy')).toBe(4);
    await scheduler.stop(0);
  });

  it('recovers and reads on every tick again when a failing device comes back', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    state.behaviour.set('flaky', { kind: 'fail' });
    scheduler.setEnvironments([env('E', 1000, ['flaky'], state)]);
    scheduler.start();
    await clock.advance(10_000);
    state.behaviour.set('flaky', { kind: 'ok', value: 7 });
    await clock.advance(60_000);
    const before = readsOf(batches, 'flaky');
    await clock.advance(5000);
    expect(readsOf(batches, 'flaky') - before).toBe(5);
    expect(scheduler.status()[0]?.devices[0]?.consecutiveFailures).toBe(0);
    await scheduler.stop(0);
  });

  it('counts a failure and keeps polling when an adapter resolves something that is not a list of readings', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    state.behaviour.set('buggy', { kind: 'garbage', value: { watts: 12 } });
    scheduler.setEnvironments([env('E', 1000, ['buggy', 'good'], state)]);
    scheduler.start();
    await clock.advance(3000);
    const dev = scheduler.status()[0]?.devices.find((d) => d.id === 'buggy');
    expect(dev?.failures).toBeGreaterThanOrEqual(1);
    expect(dev?.lastError).toMatch(/ER_ADAPTER_OUTPUT.*not a list of readings/);
    expect(readsOf(batches, 'buggy')).toBe(0);
    expect(readsOf(batches, 'good')).toBe(3);
    state.behaviour.set('buggy', { kind: 'ok', value: 3 });
    await clock.advance(60_000);
    expect(scheduler.status()[0]?.devices.find((d) => d.id === 'buggy')?.consecutiveFailures).toBe(0);
    await scheduler.stop(0);
  });

  it('forwards the well-formed readings and drops the malformed ones when an adapter returns a mixed list', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    const good = { sensor: 'power', unit: 'W', value: 5, timestampNs: 0 };
    state.behaviour.set('mixed', {
      kind: 'garbage',
      value: [null, 'x', { sensor: 7, unit: 'W', value: 1, timestampNs: 0 }, { sensor: 'power', unit: 'W' }, good],
    });
    scheduler.setEnvironments([env('E', 1000, ['mixed'], state)]);
    scheduler.start();
    await clock.advance(1000);
    expect(batches.map((b) => b.readings)).toEqual([[{ ...good, timestampNs: 1000 * 1e6 }]]);
    const dev = scheduler.status()[0]?.devices[0];
    expect(dev?.failures).toBe(0);
    expect(dev?.readings).toBe(1);
    expect(dev?.malformedReadings).toBe(4);
    await scheduler.stop(0);
  });

  it('drops readings the API would refuse (bad names, NaN or Infinity) so they do not cost the batch', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    const good = { sensor: 'power', unit: 'W', value: 5, timestampNs: 0 };
    state.behaviour.set('odd', {
      kind: 'garbage',
      value: [
        { sensor: 'in\nlet', unit: 'C', value: 1, timestampNs: 0 },
        { sensor: '', unit: 'W', value: 1, timestampNs: 0 },
        { sensor: 'p', unit: 'W\\', value: 1, timestampNs: 0 },
        { sensor: 'p'.repeat(1025), unit: 'W', value: 1, timestampNs: 0 },
        { sensor: 'p', unit: 'W', value: Number.NaN, timestampNs: 0 },
        { sensor: 'p', unit: 'W', value: Number.POSITIVE_INFINITY, timestampNs: 0 },
        good,
      ],
    });
    scheduler.setEnvironments([env('E', 1000, ['odd'], state)]);
    scheduler.start();
    await clock.advance(1000);
    expect(batches.map((b) => b.readings)).toEqual([[{ ...good, timestampNs: 1000 * 1e6 }]]);
    expect(scheduler.status()[0]?.devices[0]?.malformedReadings).toBe(6);
    await scheduler.stop(0);
  });

  it('drops readings whose timestamp is not plausible epoch ns (ms, s, past 2262) and keeps absent ones', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    const T = 1_763_000_000_123_000_000;
    const good = { sensor: 'power', unit: 'W', value: 5, timestampNs: T };
    const absent = { sensor: 'power', unit: 'W', value: 6, timestampNs: 0 };
    state.behaviour.set('clock', {
      kind: 'garbage',
      value: [
        { sensor: 'p', unit: 'W', value: 1, timestampNs: T / 1e6 }, // ms
        { sensor: 'p', unit: 'W', value: 2, timestampNs: T / 1e9 }, // s
        { sensor: 'p', unit: 'W', value: 3, timestampNs: 2 ** 63 }, // past 64-bit ns
        { sensor: 'p', unit: 'W', value: 4, timestampNs: 1e19 },
        good,
        absent,
      ],
    });
    scheduler.setEnvironments([env('E', 1000, ['clock'], state)]);
    scheduler.start();
    await clock.advance(1000);
    expect(batches.map((b) => b.readings)).toEqual([[good, { ...absent, timestampNs: 1000 * 1e6 }]]);
    expect(scheduler.status()[0]?.devices[0]?.malformedReadings).toBe(4);
    await scheduler.stop(0);
  });

  it('adds, removes and re-creates devices when environments are replaced', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    scheduler.setEnvironments([env('E', 1000, ['keep', 'drop'], state)]);
    scheduler.start();
    await clock.advance(2000);
    scheduler.setEnvironments([env('E', 1000, ['keep', 'new'], state), env('F', 500, ['f1'], state)]);
    await clock.advance(2000);
    expect(readsOf(batches, 'drop')).toBe(2);
    expect(readsOf(batches, 'new')).toBe(2);
    expect(readsOf(batches, 'keep')).toBe(4);
    expect(readsOf(batches, 'f1')).toBe(4);
    expect(state.created.get('keep')).toBe(1);
    expect(state.closed.get('drop')).toBe(1);
    // A changed entry is a new device: its adapter is re-created.
    scheduler.setEnvironments([env('E', 1000, ['keep'], state, 'changed')]);
    await clock.advance(1000);
    expect(state.created.get('keep')).toBe(2);
    await scheduler.stop(0);
  });

  it('counts skipped ticks and realigns on the next boundary when the event loop was blocked past several', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    scheduler.setEnvironments([env('E', 1000, ['a'], state)]);
    scheduler.start();
    await clock.advance(1000);
    clock.jump(3500); // t = 4500: the boundaries at 2000, 3000 and 4000 passed while blocked
    await clock.advance(0);
    const e = scheduler.status()[0];
    expect(e?.skippedTicks).toBe(2);
    expect(batches.map((b) => b.collectTimeNs / 1e6)).toEqual([1000, 4500]);
    await clock.advance(500);
    expect(batches.map((b) => b.collectTimeNs / 1e6)).toEqual([1000, 4500, 5000]);
    await scheduler.stop(0);
  });

  it('lets in-flight reads finish and delivers them when stopped', async () => {
    const { clock, state, batches, scheduler } = setup(0);
    scheduler.setEnvironments([env('E', 1000, ['a'], state)]);
    scheduler.start();
    await clock.advance(1000);
    const stopped = scheduler.stop(100);
    await settle();
    await clock.advance(100);
    await stopped;
    expect(batches).toHaveLength(1);
    expect(state.closed.get('a')).toBe(1);
  });

  it('keeps polling every interval when the wall clock is stepped back by more than an interval', async () => {
    const { clock, state, batches, scheduler } = setup(1_000_000_000);
    scheduler.setEnvironments([env('E', 10_000, ['a'], state)]);
    scheduler.start();
    await clock.advance(60_000);
    const before = readsOf(batches, 'a');
    expect(before).toBe(6);
    clock.stepWallClock(-2 * 3600_000); // NTP corrects an RTC kept in local time
    await clock.advance(60_000);
    expect(readsOf(batches, 'a') - before).toBeGreaterThanOrEqual(5);
    // Back on wall-clock multiples of the interval of the new time.
    const last = batches.at(-1);
    expect(((last?.collectTimeNs ?? 1) / 1e6) % 10_000).toBe(0);
    await scheduler.stop(0);
  });

  it('retries a failing device after its back-off, not after the step, when the wall clock is stepped back', async () => {
    const { clock, state, batches, scheduler } = setup(1_000_000_000);
    state.behaviour.set('a', { kind: 'fail' });
    scheduler.setEnvironments([env('E', 1000, ['a'], state)]);
    scheduler.start();
    await clock.advance(3000);
    expect(scheduler.status()[0]?.devices[0]?.consecutiveFailures).toBeGreaterThan(0);
    state.behaviour.set('a', { kind: 'ok', value: 7 });
    clock.stepWallClock(-3600_000);
    await clock.advance(10_000);
    expect(readsOf(batches, 'a')).toBeGreaterThanOrEqual(5);
    await scheduler.stop(0);
  });

  it('plans first reads again from the new time when the wall clock is stepped back before they ran', async () => {
    const { clock, state, batches, scheduler } = setup(1_000_000_250);
    scheduler.setEnvironments([env('E', 1000, ['a'], state)]);
    scheduler.start();
    clock.stepWallClock(-3600_000);
    await clock.advance(3000);
    expect(readsOf(batches, 'a')).toBeGreaterThanOrEqual(2);
    await scheduler.stop(0);
  });

  it('stops within the close timeout and logs it when an adapter close() never settles', async () => {
    const clock = new FakeClock(0);
    const state = newScriptState();
    state.hangClose.add('a');
    const warnings: string[] = [];
    const logger: Logger = {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (_fields, msg) => void warnings.push(msg ?? ''),
      error: () => undefined,
      child: () => logger,
    };
    const scheduler = new PollScheduler({
      onBatch: () => undefined,
      clock,
      nowNs: () => clock.nowMs() * 1e6,
      logger,
      closeTimeoutMs: 3000,
    });
    scheduler.setEnvironments([env('E', 1000, ['a', 'b'], state)]);
    scheduler.start();
    await clock.advance(2000);
    let stopped = false;
    const stopping = scheduler.stop(0).then(() => void (stopped = true));
    await clock.advance(2999);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(stopped).toBe(true);
    expect(state.closed.get('a')).toBe(1);
    expect(state.closed.get('b')).toBe(1);
    expect(warnings).toContain('adapter close did not finish in time: no longer waited for');
  });
});
