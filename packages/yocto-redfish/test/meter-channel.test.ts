import { EventEmitter } from 'node:events';
import { noopLogger, type Logger } from '@energyrecorder/core';
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

describe('MeterChannel late opens', () => {
  it('closes an open that settles after the deadline, and does not open again until it has', async () => {
    // A device that can be claimed once, as a USB interface: a second open while it is held fails BUSY.
    const dev = { claimed: false, opens: 0, closes: 0, busy: 0, openDelayMs: 80 };
    const meter: Meter = {
      driver: 'exclusive',
      target: 'exclusive',
      open: async () => {
        if (dev.claimed) {
          dev.busy++;
          throw new Error('LIBUSB_ERROR_BUSY');
        }
        dev.claimed = true;
        dev.opens++;
        // Ignores its signal, as a USB step in progress does.
        await new Promise((r) => setTimeout(r, dev.openDelayMs));
        return { manufacturer: 'x', model: 'y' };
      },
      read: async () => ({ powerWatts: 5, timestampNs: 0 }),
      close: async () => {
        if (dev.claimed) dev.closes++;
        dev.claimed = false;
      },
    };
    const channel = new MeterChannel({ meter, readTimeoutMs: 20, backoffInitialMs: 1, pollIntervalMs: 1 });
    const down = await channel.sample();
    expect(down.status).toMatchObject({ state: 'UnavailableOffline', failures: 1 });
    await new Promise((r) => setTimeout(r, 5));
    // The late open still runs: the channel neither opens again (BUSY) nor reports the meter up.
    expect((await channel.sample()).status.state).toBe('UnavailableOffline');
    expect(dev.busy).toBe(0);
    await new Promise((r) => setTimeout(r, 120));
    expect(dev).toMatchObject({ claimed: false, opens: 1, closes: 1 });
    dev.openDelayMs = 0;
    const up = await channel.sample();
    expect(up.status.state).toBe('Enabled');
    expect(dev).toMatchObject({ opens: 2, busy: 0 });
    await channel.stop();
    expect(dev.claimed).toBe(false);
  });
});

describe('MeterChannel late open whose close rejects', () => {
  it('logs the failed close of a late open instead of leaving an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const warnings: string[] = [];
    const logger = {
      ...noopLogger,
      warn: (_fields: unknown, msg: string) => void warnings.push(msg),
      child: () => logger,
    } as unknown as Logger;
    try {
      let closes = 0;
      const meter: Meter = {
        driver: 'third-party',
        target: 'third-party',
        open: async () => {
          await new Promise((r) => setTimeout(r, 40));
          return { manufacturer: 'x', model: 'y' };
        },
        read: async () => ({ powerWatts: 5, timestampNs: 0 }),
        close: async () => {
          closes++;
          throw new Error('close failed');
        },
      };
      const channel = new MeterChannel({ meter, logger, readTimeoutMs: 10, backoffInitialMs: 1, pollIntervalMs: 1 });
      expect((await channel.sample()).status.state).toBe('UnavailableOffline');
      // Let the late open settle, its close reject, and Node report any unhandled rejection.
      await new Promise((r) => setTimeout(r, 80));
      await new Promise((r) => setImmediate(r));
      expect(closes).toBe(1);
      expect(unhandled).toEqual([]);
      expect(warnings).toContain('closing a timed-out open that finished late failed');
      await channel.stop();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('MeterChannel frozen energy counter', () => {
  it('integrates power when the counter stops while power flows, so a stopped WT310 integrator does not serve 0 Wh', async () => {
    const clock = fakeClock();
    const state = { watts: 200, energyWh: 1.5 as number | undefined, up: true };
    const channel = new MeterChannel({ meter: scriptedMeter(state), clock: clock.now, pollIntervalMs: 1000 });
    for (let i = 0; i <= 3600; i++) {
      await channel.sample();
      clock.advance(1000);
    }
    // 1 h at 200 W.
    expect(channel.snapshot().energyWh).toBeCloseTo(200, 9);
    // The integrator starts again: the counter moves and is used from there, nothing counted twice.
    for (let i = 0; i < 10; i++) {
      state.energyWh = (state.energyWh ?? 0) + 200 / 3600;
      await channel.sample();
      clock.advance(1000);
    }
    expect(channel.snapshot().energyWh).toBeCloseTo(200 + (10 * 200) / 3600, 9);
    await channel.stop();
  });

  it('counts each interval once when a coarse counter ticks only every few readings', async () => {
    const clock = fakeClock();
    // 20 W read every second by a counter of 0.1 Wh resolution: it moves every 18 s.
    const state = { watts: 20, energyWh: 100 as number | undefined, up: true };
    const channel = new MeterChannel({ meter: scriptedMeter(state), clock: clock.now, pollIntervalMs: 1000 });
    for (let i = 0; i <= 3600; i++) {
      state.energyWh = 100 + Math.floor((20 * i) / 3600 / 0.1 + 1e-9) * 0.1;
      await channel.sample();
      clock.advance(1000);
    }
    const wh = channel.snapshot().energyWh ?? 0;
    expect(wh).toBeGreaterThan(20 - 0.11);
    expect(wh).toBeLessThan(20 + 0.11);
    await channel.stop();
  });
});

describe('MeterChannel signals', () => {
  it('leaves no listener nor dependant signal on its long-lived signal after many polls', async () => {
    const clock = fakeClock();
    const channel = new MeterChannel({ meter: new SimulatedMeter({ profile: 'constant:1', clock: clock.now }), clock: clock.now, pollIntervalMs: 1000 });
    const closing = (channel as unknown as { closing: AbortController }).closing.signal;
    for (let i = 0; i < 500; i++) {
      await channel.sample();
      clock.advance(1000);
    }
    expect(EventEmitter.getEventListeners(closing, 'abort')).toHaveLength(0);
    // AbortSignal.any([closing, ...]) per poll registers each result as a dependant of `closing`, kept until GC
    // and finalisation: what made the heap grow by every poll.
    const dependants = Object.getOwnPropertySymbols(closing).find((s) => s.description === 'kDependantSignals');
    const set = dependants === undefined ? undefined : (closing as unknown as Record<symbol, Set<unknown> | undefined>)[dependants];
    expect(set?.size ?? 0).toBe(0);
    await channel.stop();
  });

  it('never shows the credentials of a URL in the last error', async () => {
    const meter: Meter = {
      driver: 'hub',
      target: 'hub',
      open: async () => {
        throw new TypeError('Request cannot be constructed from a URL that includes credentials: http://admin:HubS3cret@127.0.0.1:4444/x');
      },
      read: async () => ({ powerWatts: 1, timestampNs: 0 }),
      close: async () => undefined,
    };
    const channel = new MeterChannel({ meter });
    const snap = await channel.sample();
    expect(snap.status.lastError).toContain('http://127.0.0.1:4444/x');
    expect(snap.status.lastError).not.toMatch(/HubS3cret|admin/);
    await channel.stop();
  });
});
