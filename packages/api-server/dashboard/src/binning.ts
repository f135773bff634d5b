import type { SeriesRing } from './ring-buffer.js';

/** A y column as uPlot takes it: `null` breaks the line, `undefined` is bridged. */
export type BinnedColumn = Array<number | null | undefined>;

/** Result of {@link binSeries}: shared x (bin start, epoch s) and one column per series. */
export interface BinnedData {
  x: number[];
  columns: BinnedColumn[];
  /** Samples that fell in the window, over all series. */
  sampleCount: number;
}

/** Options of {@link binSeries}. */
export interface BinOptions {
  fromS: number;
  toS: number;
  /** Most bins (about one per horizontal pixel of the plot). */
  maxBins: number;
  /** A pause longer than this many sample intervals is drawn as a gap. */
  gapFactor?: number;
  /** Shortest pause ever drawn as a gap, in seconds. */
  minGapS?: number;
}

/**
 * Decimates several series with unrelated timestamps onto one x axis: the window is cut into at most `maxBins`
 * equal bins and each bin gets the mean of the samples in it. Empty bins between two samples closer than the
 * gap threshold stay `undefined` (uPlot joins over them); the bin after a real pause gets `null`, so missing
 * data stays visible. Cost is one pass over the samples in the window plus one over the bins.
 */
export function binSeries(series: readonly SeriesRing[], options: BinOptions): BinnedData {
  const { fromS, toS } = options;
  const span = toS - fromS;
  const maxBins = Math.max(1, Math.floor(options.maxBins));
  const gapFactor = options.gapFactor ?? 3;
  const minGapS = options.minGapS ?? 3;
  if (!(span > 0)) return { x: [], columns: series.map(() => []), sampleCount: 0 };
  const binS = span / maxBins;
  const x = new Array<number>(maxBins);
  for (let i = 0; i < maxBins; i++) x[i] = fromS + i * binS;

  const sums = new Float64Array(maxBins);
  const counts = new Uint32Array(maxBins);
  let sampleCount = 0;
  const columns: BinnedColumn[] = series.map((ring) => {
    sums.fill(0);
    counts.fill(0);
    ring.forEachInRange(fromS, toS, (t, v) => {
      const bin = Math.min(maxBins - 1, Math.floor((t - fromS) / binS));
      sums[bin] = (sums[bin] as number) + v;
      counts[bin] = (counts[bin] as number) + 1;
      sampleCount++;
    });
    const gapS = Math.max(minGapS, gapFactor * ring.intervalS);
    const col: BinnedColumn = new Array<number | null | undefined>(maxBins);
    let lastFilled = -1;
    for (let i = 0; i < maxBins; i++) {
      const n = counts[i] as number;
      if (n > 0) {
        if (lastFilled >= 0 && (i - lastFilled) * binS > gapS && i - lastFilled > 1) col[lastFilled + 1] = null;
        col[i] = (sums[i] as number) / n;
        lastFilled = i;
      }
    }
    return col;
  });
  return { x, columns, sampleCount };
}
