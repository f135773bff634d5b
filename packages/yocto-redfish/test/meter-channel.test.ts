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
