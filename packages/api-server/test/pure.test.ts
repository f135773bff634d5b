import { integrateEnergy, reportToCsv } from '@energyrecorder/core';
import { deriveSessions, measurementTopic, buildReport } from '../src/index.js';
import { assignTimestamps } from '../src/internal/timestamps.js';
import { parseBody, measurementPostSchema, timestampProblem } from '../src/internal/validation.js';

const ev = (scenario: string, step: string, started: boolean, timeNs: number) => ({ environment: 'e', scenario, step, started, timeNs });

describe('deriveSessions', () => {
  it('turns a restart of the running scenario into a step change and another scenario into a new session', () => {
    const s = deriveSessions([ev('A', 'running', true, 1), ev('A', 's1', true, 2), ev('B', 'running', true, 3), ev('B', 'running', false, 4)]);
    expect(s).toEqual([
      { scenario: 'A', startNs: 1, endNs: 3, running: false, steps: [{ step: 'running', startNs: 1, endNs: 2 }, { step: 's1', startNs: 2, endNs: 3 }] },
      { scenario: 'B', startNs: 3, endNs: 4, running: false, steps: [{ step: 'running', startNs: 3, endNs: 4 }] },
    ]);
  });
});

describe('assignTimestamps', () => {
  it('offsets same-series same-time readings by their rank and is deterministic when called twice', () => {
    // 512 ns past a second: not a whole second, so only the rank rule applies.
    const t = 1.7e18 + 512;
    const items = [
      { sensor: 'a', unit: 'W', value: 1, time: t },
      { sensor: 'a', unit: 'W', value: 2, time: t },
      { sensor: 'b', unit: 'W', value: 3, time: t },
      { sensor: 'a', unit: 'W', value: 4 },
    ];
    const one = assignTimestamps(items, t);
    expect(one.map((x) => BigInt(x))).toEqual([BigInt(t), BigInt(t) + 1n, BigInt(t), BigInt(t) + 2n]);
    expect(assignTimestamps(items, t)).toEqual(one);
  });

  it('keeps client times as they are when no two readings share a time', () => {
    const items = [{ sensor: 'a', unit: 'W', value: 1, time: 2e18 + 1024 }, { sensor: 'a', unit: 'W', value: 1, time: 2e18 + 2048 }, { sensor: 'a', unit: 'W', value: 1 }];
    expect(assignTimestamps(items, 3e18 + 512)).toEqual([2e18 + 1024, 2e18 + 2048, 3e18 + 512]);
  });

  // The original collectors stamp `int(now_s) * 1e9`: two polls within one second share the time.
  const second = 1_796_000_000_000_000_000;
  const poll = (power: number, temp: number) => [
    { sensor: 'power', unit: 'W', value: power, time: second },
    { sensor: 'temp', unit: 'C', value: temp, time: second },
  ];
  const wholeBatch = (power: number) => [{ sensor: 'power', unit: 'W', value: power }];

  it('keeps readings of two batches stamped on the same whole second apart when their values differ', () => {
    const first = assignTimestamps(poll(100, 30), second);
    const next = assignTimestamps(poll(110, 30), second);
    // Different power values: different points. Equal temperatures: the same point (nothing is lost).
    expect(first[0]).not.toEqual(next[0]);
    expect(first[1]).toEqual(next[1]);
    // Readings without a time take the batch's whole-second collect time: the same rule.
    expect(assignTimestamps(wholeBatch(100), second)[0]).not.toEqual(assignTimestamps(wholeBatch(110), second)[0]);
    for (const t of [...first, ...next]) {
      expect(typeof t).toBe('bigint');
      expect(BigInt(t) - BigInt(second)).toBeGreaterThanOrEqual(0n);
      expect(BigInt(t) - BigInt(second)).toBeLessThan(1_000_000n);
    }
  });

  it('gives a re-sent whole-second reading the time it got before when sent again, in any batch', () => {
    const first = assignTimestamps(poll(100, 30), second);
    expect(assignTimestamps(poll(100, 30), second)).toEqual(first);
    // A spool replay that cuts batches differently: the reading alone, or with another poll's readings.
    expect(assignTimestamps(poll(100, 30).slice(0, 1), second)).toEqual([first[0]]);
    expect(assignTimestamps([...poll(120, 31), ...poll(100, 30)], second).slice(2)).toEqual(first);
  });

  it('spreads 1,000 distinct values of one whole second over distinct times', () => {
    const times = new Set<bigint>();
    for (let v = 0; v < 1000; v++) times.add(BigInt(assignTimestamps([{ sensor: 'power', unit: 'W', value: 100 + v / 10, time: second }], second)[0] as bigint));
    // Birthday bound over 10^6 slots: 1,000 values collide at most a few times (the original's 10^4 slots, ~40).
    expect(times.size).toBeGreaterThanOrEqual(995);
  });

  it('ranks identical readings of one batch on a whole second 1 ns apart after the offset', () => {
    const [a, b] = assignTimestamps([...wholeBatch(100), ...wholeBatch(100)], second);
    expect(BigInt(b as bigint) - BigInt(a as bigint)).toBe(1n);
  });
});

describe('measurementTopic', () => {
  it('replaces wildcard, separator and control characters when building a topic', () => {
    expect(measurementTopic('base', 'p+1', 'srv#2', 'a/b\nc')).toBe('base/p_1/srv_2/a_b_c');
    expect(measurementTopic('', 'p', 'e', 's')).toBe('/p/e/s');
    expect(measurementTopic('b', 'p\u0085', 'e\ufffe', 'x\ud800y\u{1F600}')).toBe('b/p_/e_/x_y\u{1F600}');
  });
});

describe('validation', () => {
  it('names the offending fields when a batch is malformed', () => {
    const r = parseBody(measurementPostSchema, { environment: 1, measurements: [{ sensor: 's', unit: 'W' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.body.errors).sort()).toEqual(['environment', 'measurements.0.value']);
  });

  it('refuses C1 controls, non-characters and lone surrogates in names, which MQTT brokers refuse in topics', () => {
    for (const bad of ['bad\u0085x', 'a\u009f', 'n\ufdd0', 'n\uffff', 'n\u{10fffe}', 'x\ud800', '\udc00x']) {
      const r = parseBody(measurementPostSchema, { environment: 'e', measurements: [{ sensor: bad, unit: 'W', value: 1 }] });
      expect({ bad, ok: r.ok }).toEqual({ bad, ok: false });
      if (!r.ok) expect(r.body.errors['measurements.0.sensor']).toMatch(/control characters/);
    }
    const fine = parseBody(measurementPostSchema, { environment: 'pod é', measurements: [{ sensor: 'temp \u{1F321}\u00a0', unit: '°C', value: 1 }] });
    expect(fine.ok).toBe(true);
  });

  it('says which unit a timestamp looks like when it is not ns', () => {
    expect(timestampProblem(1_700_000_000)).toMatch(/seconds/);
    expect(timestampProblem(1_700_000_000_000)).toMatch(/milliseconds/);
    expect(timestampProblem(1.7e18)).toBeUndefined();
  });
});

describe('reportToCsv', () => {
  it('quotes names with commas and neutralises formula prefixes when writing rows', () => {
    const session = { scenario: 'S', startNs: 0, endNs: 10e9, running: false, steps: [{ step: '=cmd', startNs: 0, endNs: 10e9 }] };
    const samples = [0, 10e9].map((t) => ({ equipment: 'a,b', timestampNs: t, powerWatts: 10 }));
    const csv = reportToCsv(buildReport('e', session, samples, 10e9));
    const lines = csv.trim().split('\r\n');
    expect(lines[1]).toMatch(/^step,'=cmd,"a,b",100,/);
    expect(lines[2]).toMatch(/^session,,"a,b",100,/);
  });
});

describe('buildReport', () => {
  // A seeded xorshift, so a failure names a case that can be replayed.
  const rng = (seed: number) => {
    let x = Math.imul(seed, 0x9e3779b1) | 1;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
  };

  it('gives every window the figures of integrating all its equipment samples when each window reads only its own', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const t0 = 1.7e18;
      const n = 2 + Math.floor(r() * 60);
      const samples: Array<{ equipment: string; timestampNs: number; powerWatts: number }> = [];
      for (let i = 0; i < n; i++) {
        // Out of order, repeated times, long gaps and samples before and after the session.
        const t = t0 + Math.floor(r() * 400) * 1e9 * (r() < 0.1 ? 3 : 1) - 50e9;
        samples.push({ equipment: r() < 0.5 ? 'a' : 'b', timestampNs: r() < 0.05 ? Number.NaN : t, powerWatts: 50 + r() * 200 });
      }
      const cuts = [0, ...Array.from({ length: 1 + Math.floor(r() * 6) }, () => Math.floor(r() * 300))].sort((x, y) => x - y);
      const running = r() < 0.3;
      const endNs = running ? null : t0 + 300e9;
      const steps = cuts.map((c, i) => ({ step: `s${i}`, startNs: t0 + c * 1e9, endNs: i + 1 < cuts.length ? t0 + (cuts[i + 1] as number) * 1e9 : endNs }));
      const session = { scenario: 'S', startNs: t0, endNs, running, steps };
      const now = t0 + 280e9;
      const report = buildReport('e', session, samples, now);
      const whole = (eq: string, startNs: number, end: number) => {
        const x = integrateEnergy(
          samples.filter((s) => s.equipment === eq),
          { startNs, endNs: end },
        );
        return { energyJoules: x.energyJoules, coveragePct: x.coveragePct, sampleCount: x.sampleCount, gapCount: x.gaps.length, maxWatts: x.maxWatts, minWatts: x.minWatts };
      };
      const pick = (e: { energyJoules: number; coveragePct: number; sampleCount: number; gapCount: number; maxWatts: number | null; minWatts: number | null }) => ({
        energyJoules: e.energyJoules,
        coveragePct: e.coveragePct,
        sampleCount: e.sampleCount,
        gapCount: e.gapCount,
        maxWatts: e.maxWatts,
        minWatts: e.minWatts,
      });
      const sessionEnd = endNs ?? now;
      for (const e of report.equipments) expect({ seed, ...pick(e) }).toEqual({ seed, ...whole(e.equipment, t0, sessionEnd) });
      report.steps.forEach((st, i) => {
        const s = steps[i] as (typeof steps)[number];
        for (const e of st.equipments) expect({ seed, step: i, ...pick(e) }).toEqual({ seed, step: i, ...whole(e.equipment, s.startNs, s.endNs ?? sessionEnd) });
      });
    }
  });
});
