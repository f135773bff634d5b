import { NOISE_MAX_CHECKPOINTS, noiseProfile, parseDurationS, parseProfile, parseReplayCsv } from '../src/profile.js';

describe('parseProfile', () => {
  it('gives constant power and linear energy when the profile is constant', () => {
    const p = parseProfile('constant:200');
    expect(p.powerAt(12.5)).toBe(200);
    expect(p.energyJoules(10)).toBe(2000);
  });

  it('repeats the steps and integrates them exactly when the profile is steps', () => {
    const p = parseProfile('steps:100@10s,300@10s');
    expect(p.powerAt(0)).toBe(100);
    expect(p.powerAt(10)).toBe(300);
    expect(p.powerAt(25)).toBe(100);
    expect(p.energyJoules(15)).toBe(100 * 10 + 300 * 5);
    expect(p.energyJoules(45)).toBe(2 * 4000 + 100 * 5);
  });

  it('integrates a sawtooth when the profile is a ramp', () => {
    const p = parseProfile('ramp:100-400/60s');
    expect(p.powerAt(30)).toBe(250);
    expect(p.energyJoules(60)).toBeCloseTo(250 * 60, 9);
    expect(p.energyJoules(90)).toBeCloseTo(15000 + 100 * 30 + (300 * 30 * 30) / 120, 9);
  });

  it('integrates the sine exactly over whole periods when the profile is a sine', () => {
    const p = parseProfile('sine:200+-50/30s');
    expect(p.powerAt(7.5)).toBeCloseTo(250, 9);
    expect(p.energyJoules(60)).toBeCloseTo(200 * 60, 6);
    expect(p.energyJoules(15)).toBeCloseTo(200 * 15 + (50 * 30) / Math.PI, 6);
  });

  it('repeats the same values for the same seed and differs for another seed when the profile is noise', () => {
    const a = parseProfile('noise:200+-5/1s;seed=42');
    const b = parseProfile('noise:200+-5/1s;seed=42');
    const c = parseProfile('noise:200+-5/1s;seed=7');
    const samples = (p: typeof a): number[] => [0, 1, 2, 3, 4].map((t) => p.powerAt(t + 0.5));
    expect(samples(a)).toEqual(samples(b));
    expect(samples(a)).not.toEqual(samples(c));
    for (const w of samples(a)) expect(Math.abs(w - 200)).toBeLessThanOrEqual(5);
    expect(a.energyJoules(3)).toBeCloseTo(samples(a).slice(0, 3).reduce((s, w) => s + w, 0), 9);
  });

  it('interpolates and integrates rows when the profile is a CSV replay', () => {
    const p = parseProfile('csv:trace.csv', () => 'seconds,watts\n0,100\n10,200\n20,200\n');
    expect(p.powerAt(5)).toBe(150);
    expect(p.energyJoules(20)).toBe(1500 + 2000);
    expect(p.powerAt(25)).toBe(150);
  });

  it('throws a ValidationError naming the problem when the profile is malformed', () => {
    expect(() => parseProfile('bogus:1')).toThrow(/unknown kind "bogus"/);
    expect(() => parseProfile('steps:100@0s')).toThrow(/longer than zero/);
    expect(() => parseProfile('ramp:100')).toThrow(/ramp:<from>-<to>/);
    expect(() => parseProfile('constant:abc')).toThrow(/not a number/);
  });
});

describe('parseDurationS', () => {
  it('converts units when given ms, s, m or h', () => {
    expect(parseDurationS('500ms')).toBe(0.5);
    expect(parseDurationS('10')).toBe(10);
    expect(parseDurationS('2m')).toBe(120);
    expect(parseDurationS('1h')).toBe(3600);
  });
});

describe('parseReplayCsv', () => {
  it('rejects times that go backwards when the CSV is unordered', () => {
    expect(() => parseReplayCsv('0,1\n5,2\n3,4\n', 'x.csv')).toThrow(/x.csv:3/);
  });
});

describe('noise profile memory', () => {
  const naive = (p: { powerAt: (t: number) => number }, bucketS: number, tS: number): number => {
    // The same running sum, bucket by bucket, from zero.
    const k = Math.floor(tS / bucketS);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += p.powerAt((i + 0.5) * bucketS) * bucketS;
    return sum + p.powerAt(k * bucketS) * (tS - k * bucketS);
  };

  it('keeps a bounded state however long it plays, and answers earlier instants as before', () => {
    // Small checkpoint limits, so that the bound is reached quickly: 200 000 buckets of 10 ms.
    const p = noiseProfile('noise:200+-5/10ms', 200, 5, 0.01, 42, { firstSpacing: 16, maxCheckpoints: 8 });
    expect(p.energyJoules(1.234)).toBe(naive(p, 0.01, 1.234));
    for (let t = 1; t <= 2000; t += 1) p.energyJoules(t);
    expect(p.retained).toBeLessThanOrEqual(9);
    const late = p.energyJoules(2000);
    expect(late).toBeCloseTo(200 * 2000, -2);
    // Going back in time gives the same values as the first time.
    expect(p.energyJoules(1.234)).toBe(naive(p, 0.01, 1.234));
    expect(p.energyJoules(777.7)).toBe(naive(p, 0.01, 777.7));
    expect(p.energyJoules(2000)).toBe(late);
    expect(p.retained).toBeLessThanOrEqual(9);
  });

  it('keeps one checkpoint per 4096 buckets at most, not one sum per bucket, with the default limits', () => {
    const p = parseProfile('noise:200+-5/10ms;seed=42') as ReturnType<typeof noiseProfile>;
    for (let t = 60; t <= 3600; t += 60) p.energyJoules(t);
    // One hour at 10 ms is 360 000 buckets.
    expect(p.retained).toBeLessThanOrEqual(Math.ceil(360_000 / 4096) + 1);
    expect(p.retained).toBeLessThanOrEqual(NOISE_MAX_CHECKPOINTS + 1);
  });
});
