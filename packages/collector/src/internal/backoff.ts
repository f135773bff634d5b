/** Settings of the per-device retry back-off. */
export interface BackoffOptions {
  /** First delay, before jitter. */
  baseMs: number;
  /** Upper bound of the delay, before jitter. */
  maxMs: number;
}

/**
 * Delay before attempt `failures + 1`: `base · 2^(failures-1)` capped at `max`, with "equal jitter" (a random
 * value between half and all of it) so devices that failed together do not retry in lockstep.
 */
export function backoffDelayMs(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
