import { SeriesRing } from '../../dashboard/src/ring-buffer.js';

describe('SeriesRing', () => {
  it('keeps only the newest samples when more than its capacity arrive', () => {
    const ring = new SeriesRing(3);
    for (let t = 1; t <= 5; t++) ring.push(t, t * 10);
    const seen: Array<[number, number]> = [];
    ring.forEachInRange(0, 100, (t, v) => seen.push([t, v]));
    expect(seen).toEqual([
      [3, 30],
      [4, 40],
      [5, 50],
    ]);
    expect(ring.size).toBe(3);
    expect(ring.newestValue).toBe(50);
  });

  it('returns only the samples inside the range when asked for a window', () => {
    const ring = new SeriesRing(10);
    for (let t = 0; t < 10; t++) ring.push(t, t);
    const seen: number[] = [];
    ring.forEachInRange(2.5, 6, (t) => seen.push(t));
    expect(seen).toEqual([3, 4, 5, 6]);
    expect(ring.lowerBound(2.5)).toBe(3);
    expect(ring.lowerBound(100)).toBe(10);
  });

  it('drops a sample older than the newest one when batches arrive out of order', () => {
    const ring = new SeriesRing(4);
    expect(ring.push(10, 1)).toBe(true);
    expect(ring.push(9, 2)).toBe(false);
    expect(ring.push(Number.NaN, 2)).toBe(false);
    expect(ring.size).toBe(1);
  });

  it('tracks the sample spacing when samples arrive at a steady rate', () => {
    const ring = new SeriesRing(100);
    for (let t = 0; t < 50; t++) ring.push(t * 2, 1);
    expect(ring.intervalS).toBeCloseTo(2, 6);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new SeriesRing(0)).toThrow(RangeError);
  });
});
