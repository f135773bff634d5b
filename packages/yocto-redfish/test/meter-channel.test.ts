import { MeterChannel } from '../src/meter-channel.js';
import { SimulatedMeter } from '../src/simulated-meter.js';
import type { Meter, MeterReading } from '../src/meter.js';

function fakeClock(startMs = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('MeterChannel', () => {
  it('reports the meter energy exactly when the simulated meter steps', async () => {
    const clock = fakeClock();
    const meter = new SimulatedMeter({ profile: 'steps:100@10s,300@10s', clock: clock.now });
    const channel = new MeterChannel({ meter, clock: clock.now, pollIntervalMs: 1000 });
    await channel.sample();
    clock.advance(25_000);
    const snap = await channel.sample();
    expect(snap.reading?.powerWatts).toBe(100);
    expect(snap.energyWh).toBeCloseTo((100 * 10 + 300 * 10 + 100 * 5) / 3600, 12);
    await channel.stop();
  });

  it('integrates power when the meter has no energy counter', async () => {
    const clock = fakeClock();
    const meter: Meter = {
      driver: 'fake',
      target: 'fake',
      open: async () => ({ manufacturer: 'x', model: 'y' }),
      read: async (): Promise<MeterReading> => ({ powerWatts: 360, timestampNs: clock.now() * 1e6 }),
      close: async () => undefined,
    };
    const channel = new MeterChannel({ meter, clock: clock.now, pollIntervalMs: 1000 });
    for (let i = 0; i <= 10; i++) {
      await channel.sample();
      clock.advance(1000);
    }
    expect(channel.snapshot().energyWh).toBeCloseTo(1, 12);
    await channel.stop();
  });

  it('reports the meter offline and re-opens it after back-off when it disappears and returns', async () => {
    const clock = fakeClock();
    const meter = new SimulatedMeter({ profile: 'constant:50', clock: clock.now });
    const channel = new MeterChannel({ meter, clock: clock.now, pollIntervalMs: 1000, backoffInitialMs: 5000 });
    expect((await channel.sample()).status.state).toBe('Enabled');
    meter.setOffline(true);
    clock.advance(1000);
    const down = await channel.sample();
    expect(down.reading).toBeNull();
    expect(down.status).toMatchObject({ state: 'UnavailableOffline', health: 'Critical', failures: 1 });
    meter.setOffline(false);
    clock.advance(1000);
    expect((await channel.sample()).status.state).toBe('UnavailableOffline');
    clock.advance(5000);
    const up = await channel.sample();
    expect(up.status).toMatchObject({ state: 'Enabled', health: 'OK' });
    expect(up.reading?.powerWatts).toBe(50);
    await channel.stop();
  });

  it('serves the cached reading when asked again within the poll interval', async () => {
    const clock = fakeClock();
    let reads = 0;
    const meter: Meter = {
      driver: 'fake',
      target: 'fake',
      open: async () => ({ manufacturer: 'x', model: 'y' }),
      read: async () => ({ powerWatts: ++reads, timestampNs: 0 }),
      close: async () => undefined,
    };
    const channel = new MeterChannel({ meter, clock: clock.now, pollIntervalMs: 1000 });
    await Promise.all([channel.sample(), channel.sample()]);
    clock.advance(500);
    expect((await channel.sample()).reading?.powerWatts).toBe(1);
    clock.advance(600);
    expect((await channel.sample()).reading?.powerWatts).toBe(2);
    expect(channel.snapshot().metrics).toMatchObject({ minWatts: 1, maxWatts: 2, averageWatts: 1.5 });
    await channel.stop();
  });
});

/** A meter whose power, energy counter and presence the test sets between samples. */
function scriptedMeter(state: { watts: number; energyWh: number | undefined; up: boolean }): Meter {
  return {
    driver: 'fake',
    target: 'fake',
    open: async () => {
      if (!state.up) throw new Error('unplugged');
      return { manufacturer: 'x', model: 'y' };
    },
    read: async (): Promise<MeterReading> => {
      if (!state.up) throw new Error('unplugged');
      return { powerWatts: state.watts, ...(state.energyWh === undefined ? {} : { energyWh: state.energyWh }), timestampNs: 0 };
    },
    close: async () => undefined,
  };
}

describe('MeterChannel energy', () => {
  it('keeps the energy counted so far and continues from the new value when the meter counter goes down', async () => {
    const clock = fakeClock();
    const state = { watts: 360, energyWh: 100 as number | undefined, up: true };
    const channel = new MeterChannel({ meter: scriptedMeter(state), clock: clock.now, pollIntervalMs: 1000 });
    for (let i = 0; i < 5; i++) {
      await channel.sample();
      clock.advance(1000);
      state.energyWh = (state.energyWh ?? 0) + 0.1;
    }
    expect(channel.snapshot().energyWh).toBeCloseTo(0.4, 12);
    state.energyWh = 0; // integrator reset by hand while the link stays up
    await channel.sample();
    // The reset interval is not covered by the counter: it is integrated (360 W for 1 s).
    expect(channel.snapshot().energyWh).toBeCloseTo(0.5, 12);
    clock.advance(1000);
    state.energyWh = 0.1;
    const after = await channel.sample();
    expect(after.energyWh).toBeCloseTo(0.6, 12);
    await channel.stop();
  });

  it('counts an interval once when a single reading lacks the counter while the counter is in use', async () => {
    const clock = fakeClock();
    const state = { watts: 360, energyWh: 10 as number | undefined, up: true };
    const channel = new MeterChannel({ meter: scriptedMeter(state), clock: clock.now, pollIntervalMs: 1000 });
    await channel.sample();
    const sequence = [10.1, undefined, 10.3, 10.4];
    for (const wh of sequence) {
      clock.advance(1000);
      state.energyWh = wh;
      await channel.sample();
    }
    // 4 s at 360 W is 0.4 Wh whichever way each second is counted.
    expect(channel.snapshot().energyWh).toBeCloseTo(0.4, 12);
    await channel.stop();
  });
});

describe('MeterChannel metrics', () => {
  it('serves no min/avg/max when the meter has been offline for longer than the metrics window', async () => {
    const clock = fakeClock();
    const state = { watts: 500, energyWh: undefined, up: true };
    const channel = new MeterChannel({ meter: scriptedMeter(state), clock: clock.now, pollIntervalMs: 1000, metricsIntervalMin: 1 });
    await channel.sample();
    expect(channel.snapshot().metrics).toMatchObject({ minWatts: 500, maxWatts: 500, averageWatts: 500 });
    state.up = false;
    clock.advance(1000);
    expect((await channel.sample()).metrics).toMatchObject({ averageWatts: 500 });
    clock.advance(60_000);
    const offline = await channel.sample();
    expect(offline.status.state).toBe('UnavailableOffline');
    expect(offline.metrics).toBeNull();
    expect(channel.snapshot().metrics).toBeNull();
    await channel.stop();
  });
});

describe('MeterChannel deadlines', () => {
  it('reports the meter offline when a read ignores its signal and never settles', async () => {
    let opens = 0;
    const meter: Meter = {
      driver: 'stuck',
      target: 'stuck',
      open: async () => {
        opens++;
        return { manufacturer: 'x', model: 'y' };
      },
      read: () => new Promise<MeterReading>(() => undefined),
      close: async () => undefined,
    };
    const channel = new MeterChannel({ meter, readTimeoutMs: 20 });
    const snap = await channel.sample();
    expect(snap.status).toMatchObject({ state: 'UnavailableOffline', health: 'Critical', failures: 1 });
    expect(snap.status.lastError).toMatch(/timeout|aborted/i);
    expect(snap.reading).toBeNull();
    expect(opens).toBe(1);
    await channel.stop();
  });
});
