import { LoadProfile } from '../src/load-profile.js';

function numericEnergy(p: LoadProfile, fromMs: number, toMs: number, steps = 200_000): number {
  const dt = (toMs - fromMs) / steps;
  let j = 0;
  for (let i = 0; i < steps; i++) j += (p.powerAt(fromMs + (i + 0.5) * dt) * dt) / 1000;
  return j;
}

describe('LoadProfile', () => {
  const t0 = 1_700_000_000_000;

  it('gives the idle power outside bursts when no burst covers the instant', () => {
    const p = new LoadProfile(120);
    p.addBurst({ startMs: t0, durationMs: 4000, peakWatts: 300 });
    expect(p.powerAt(t0 - 1)).toBe(120);
    expect(p.powerAt(t0 + 4001)).toBe(120);
    expect(p.powerAt(t0 + 2000)).toBeCloseTo(420, 9);
  });

  it('matches a fine numerical integral when windows cut bursts anywhere', () => {
    const p = new LoadProfile(95);
    p.addBurst({ startMs: t0 + 300, durationMs: 4000, peakWatts: 210 });
    p.addBurst({ startMs: t0 + 3000, durationMs: 6000, peakWatts: 70 });
    for (const [a, b] of [
      [t0, t0 + 10_000],
      [t0 + 1234, t0 + 5678],
      [t0 + 4300, t0 + 4301],
    ] as const) {
      expect(p.energyJoules(a, b)).toBeCloseTo(numericEnergy(p, a, b), 4);
    }
  });

  it('gives idle plus half the peak times the duration when the window spans a whole burst', () => {
    const p = new LoadProfile(100);
    p.addBurst({ startMs: t0, durationMs: 8000, peakWatts: 260 });
    expect(p.energyJoules(t0 - 1000, t0 + 9000)).toBeCloseTo(100 * 10 + 260 * 4, 9);
  });

  it('gives zero energy when the window is empty or reversed', () => {
    const p = new LoadProfile(100);
    expect(p.energyJoules(t0, t0)).toBe(0);
    expect(p.energyJoules(t0 + 5, t0)).toBe(0);
  });

  it('finds the burst peak when asked for the highest power of a window', () => {
    const p = new LoadProfile(45);
    p.addBurst({ startMs: t0, durationMs: 4000, peakWatts: 40 });
    expect(p.peakWatts(t0 - 500, t0 + 5000)).toBeCloseTo(85, 3);
  });

  it('refuses a negative idle power or an empty burst when given one', () => {
    expect(() => new LoadProfile(-1)).toThrow(RangeError);
    expect(() => new LoadProfile(1).addBurst({ startMs: t0, durationMs: 0, peakWatts: 5 })).toThrow(RangeError);
  });
});
