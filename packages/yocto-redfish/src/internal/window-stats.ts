/** Min/avg/max power over a metrics window (Redfish `PowerMetrics`). */
export interface PowerWindowMetrics {
  intervalMin: number;
  minWatts: number;
  maxWatts: number;
  averageWatts: number;
}

/** Min, max and mean of the samples' watts over a window of `intervalMin` minutes, or null without samples. */
export function windowMetrics(samples: ReadonlyArray<{ w: number }>, intervalMin: number): PowerWindowMetrics | null {
  if (samples.length === 0) return null;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const s of samples) {
    min = Math.min(min, s.w);
    max = Math.max(max, s.w);
    sum += s.w;
  }
  return { intervalMin, minWatts: min, maxWatts: max, averageWatts: sum / samples.length };
}
