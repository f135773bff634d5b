import { binSeries } from '../../dashboard/src/binning.js';
import { SeriesRing } from '../../dashboard/src/ring-buffer.js';

function ring(samples: Array<[number, number]>): SeriesRing {
  const r = new SeriesRing(10_000);
  for (const [t, v] of samples) r.push(t, v);
  return r;
}

describe('binSeries', () => {
  it('averages the samples of a bin when several fall into it', () => {
    const data = binSeries([ring([[0, 10], [0.5, 20], [1.2, 30]])], { fromS: 0, toS: 2, maxBins: 2 });
    expect(data.x).toEqual([0, 1]);
    expect(data.columns[0]).toEqual([15, 30]);
    expect(data.sampleCount).toBe(3);
  });

  it('aligns series with unrelated timestamps on one x axis when equipments poll at different times', () => {
    const a = ring([[0.1, 1], [1.1, 1], [2.1, 1]]);
    const b = ring([[0.7, 2], [1.7, 2], [2.7, 2]]);
    const data = binSeries([a, b], { fromS: 0, toS: 3, maxBins: 3 });
    expect(data.columns).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });

  it('leaves short holes undefined and marks a long pause null when the meter stopped for a while', () => {
    const samples: Array<[number, number]> = [];
    for (let t = 0; t <= 10; t++) samples.push([t, 100]);
    for (let t = 40; t <= 50; t++) samples.push([t, 100]);
    const col = binSeries([ring(samples)], { fromS: 0, toS: 60, maxBins: 120 }).columns[0] as Array<number | null | undefined>;
    // Bin 1 (0.5–1 s) sits between two 1 s-apart samples: joined over, not a gap.
    expect(col[1]).toBeUndefined();
    // First empty bin after the 30 s pause is the explicit break.
    expect(col[21]).toBeNull();
    expect(col.filter((v) => v === null)).toHaveLength(1);
  });

  it('decimates an hour of 1 Hz data for 50 equipments to one value per bin per series', () => {
    const rings = Array.from({ length: 50 }, (_, i) => {
      const r = new SeriesRing(4000);
      for (let t = 0; t < 3600; t++) r.push(t, 100 + i);
      return r;
    });
    const data = binSeries(rings, { fromS: 0, toS: 3600, maxBins: 1000 });
    expect(data.x).toHaveLength(1000);
    expect(data.columns).toHaveLength(50);
    expect(data.sampleCount).toBe(50 * 3600);
    expect(data.columns[7]?.every((v) => v === undefined || v === 107)).toBe(true);
  });

  it('returns empty columns when the window is empty', () => {
    const data = binSeries([ring([[1, 1]])], { fromS: 5, toS: 5, maxBins: 10 });
    expect(data).toEqual({ x: [], columns: [[]], sampleCount: 0 });
  });
});
