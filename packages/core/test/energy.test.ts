import { integrateEnergy, type PowerSample } from '@energyrecorder/core';

const T0 = 1_700_000_000_000_000_000; // a representable epoch-ns origin
const S = 1e9;

function samplesOf(fn: (tS: number) => number, fromS: number, toS: number, stepS: number): PowerSample[] {
  const out: PowerSample[] = [];
  for (let t = fromS; t <= toS + 1e-12; t += stepS) out.push({ timestampNs: T0 + Math.round(t * S), powerWatts: fn(t) });
  return out;
}

function expectRel(actual: number, expected: number, tol = 1e-9): void {
  const rel = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  expect(rel).toBeLessThanOrEqual(tol);
}

describe('integrateEnergy', () => {
  it('returns P×t when the power is constant', () => {
    const r = integrateEnergy(samplesOf(() => 250, 0, 100, 1));
    expectRel(r.energyJoules, 250 * 100);
    expectRel(r.energyWh, (250 * 100) / 3600);
    expect(r.coveragePct).toBe(100);
    expect(r.sampleCount).toBe(101);
    expect(r.minWatts).toBe(250);
    expect(r.maxWatts).toBe(250);
    expectRel(r.avgWatts ?? 0, 250);
    expect(r.gaps).toEqual([]);
  });

  it('is exact for a linear ramp, which the trapezoid rule integrates without error', () => {
    // P(t) = 100 + 3t over 0..60 s: E = 100*60 + 1.5*60^2
    const r = integrateEnergy(samplesOf((t) => 100 + 3 * t, 0, 60, 0.5));
    expectRel(r.energyJoules, 100 * 60 + 1.5 * 3600);
    expect(r.minWatts).toBe(100);
    expect(r.maxWatts).toBe(280);
  });

  it('gives each window its exact share when a boundary falls between two samples', () => {
    const samples = samplesOf((t) => 100 + 3 * t, 0, 60, 2);
    // window 3.5 s .. 41.5 s lies mid-sample on both ends
    const a = 3.5;
    const b = 41.5; // epoch-ns doubles have 256 ns spacing here: pick boundaries they represent exactly
    const r = integrateEnergy(samples, { startNs: T0 + a * S, endNs: T0 + b * S });
    const exact = 100 * (b - a) + 1.5 * (b * b - a * a);
    expectRel(r.energyJoules, exact);
    expect(r.coveragePct).toBeCloseTo(100, 9);
    expect(r.minWatts).toBeCloseTo(100 + 3 * a, 9);
    expect(r.maxWatts).toBeCloseTo(100 + 3 * b, 9);
  });

  it('splits a window into adjacent steps whose energies add up to the whole', () => {
    const samples = samplesOf((t) => 200 + 50 * Math.sin(t / 7), 0, 120, 1);
    const whole = integrateEnergy(samples, { startNs: T0, endNs: T0 + 120 * S });
    const cut = T0 + 47.3 * S;
    const first = integrateEnergy(samples, { startNs: T0, endNs: cut });
    const second = integrateEnergy(samples, { startNs: cut, endNs: T0 + 120 * S });
    expectRel(first.energyJoules + second.energyJoules, whole.energyJoules);
  });

  it('integrates a square wave exactly when samples sit on its edges', () => {
    // 100 W for 10 s then 300 W for 10 s, repeated 3 times; edges sampled twice (before/after) 1 ns apart
    const samples: PowerSample[] = [];
    for (let k = 0; k < 3; k++) {
      const base = k * 20;
      samples.push({ timestampNs: T0 + base * S, powerWatts: 100 });
      samples.push({ timestampNs: T0 + (base + 10) * S, powerWatts: 100 });
      samples.push({ timestampNs: T0 + (base + 10) * S + 1, powerWatts: 300 });
      samples.push({ timestampNs: T0 + (base + 20) * S, powerWatts: 300 });
      samples.push({ timestampNs: T0 + (base + 20) * S + 1, powerWatts: 100 });
    }
    const r = integrateEnergy(samples, { startNs: T0, endNs: T0 + 60 * S, expectedIntervalNs: 10 * S });
    // each period: 100*10 + 300*10 (+ negligible 1 ns edges, < 1e-9 relative)
    expectRel(r.energyJoules, 3 * (1000 + 3000), 1e-9);
  });

  it('does not bridge a gap longer than gapFactor intervals and reports it', () => {
    const samples = [
      ...samplesOf(() => 100, 0, 10, 1),
      ...samplesOf(() => 100, 30, 40, 1),
    ];
    const r = integrateEnergy(samples, { startNs: T0, endNs: T0 + 40 * S, expectedIntervalNs: S, gapFactor: 3 });
    expectRel(r.energyJoules, 100 * 20);
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0]).toEqual({ startNs: T0 + 10 * S, endNs: T0 + 30 * S, durationNs: 20 * S });
    expect(r.longestGapNs).toBe(20 * S);
    expectRel(r.coveragePct, 50);
    expectRel(r.avgWatts ?? 0, 100);
  });

  it('bridges a pause shorter than the gap limit', () => {
    const samples = [...samplesOf(() => 100, 0, 10, 1), ...samplesOf(() => 100, 12, 20, 1)];
    const r = integrateEnergy(samples, { expectedIntervalNs: S, gapFactor: 3 });
    expectRel(r.energyJoules, 2000);
    expect(r.gaps).toEqual([]);
  });

  it('reports head and tail without samples as gaps and does not extrapolate', () => {
    const samples = samplesOf(() => 50, 10, 20, 1);
    const r = integrateEnergy(samples, { startNs: T0, endNs: T0 + 30 * S });
    expectRel(r.energyJoules, 500);
    expect(r.gaps.map((g) => g.durationNs)).toEqual([10 * S, 10 * S]);
    expectRel(r.coveragePct, (10 / 30) * 100);
  });

  it('returns zero energy and null figures when there are no samples', () => {
    const r = integrateEnergy([], { startNs: T0, endNs: T0 + S });
    expect(r.energyJoules).toBe(0);
    expect(r.sampleCount).toBe(0);
    expect(r.minWatts).toBeNull();
    expect(r.avgWatts).toBeNull();
    expect(r.coveragePct).toBe(0);
  });

  it('gives the mean of the samples as average, not the minimum, when none of the window is covered', () => {
    // 100 W every 10 s early on, then two samples 1,000 s apart: too far apart to bridge.
    const samples = [...samplesOf(() => 100, 0, 30, 10), { timestampNs: T0 + 1000 * S, powerWatts: 300 }, { timestampNs: T0 + 2000 * S, powerWatts: 500 }];
    const r = integrateEnergy(samples, { startNs: T0 + 900 * S, endNs: T0 + 2100 * S });
    expect(r.coveragePct).toBe(0);
    expect(r.sampleCount).toBe(2);
    expect(r.avgWatts).toBe(400);
    expect(r.minWatts).toBe(300);
  });

  it('sorts unordered samples and ignores non-finite values', () => {
    const ordered = samplesOf((t) => 10 * t, 0, 10, 1);
    const shuffled = [...ordered].reverse();
    shuffled.push({ timestampNs: T0 + 5.5 * S, powerWatts: Number.NaN });
    expectRel(integrateEnergy(shuffled).energyJoules, integrateEnergy(ordered).energyJoules);
  });
});
