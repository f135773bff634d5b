/** Nanoseconds per millisecond, as a bigint-free number factor. */
export const NS_PER_MS = 1_000_000;
/** Nanoseconds per second. */
export const NS_PER_S = 1_000_000_000;

/**
 * The current wall-clock time in nanoseconds since the epoch, with sub-millisecond precision where the platform
 * has it. Kept as a `number`: current epoch ns (~1.7e18) exceeds 2^53, so the last three digits are not exact;
 * that is 256 ns of resolution, far finer than any power meter.
 */
export function nowNs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * NS_PER_MS);
}

/** Converts epoch milliseconds to epoch nanoseconds. */
export function msToNs(ms: number): number {
  return Math.round(ms * NS_PER_MS);
}

/** Converts epoch nanoseconds to epoch milliseconds. */
export function nsToMs(ns: number): number {
  return ns / NS_PER_MS;
}

/** Plausible range for an epoch-ns timestamp: year 2001 to year 2286. Values outside are seconds or ms. */
export const MIN_PLAUSIBLE_NS = 1e18;
export const MAX_PLAUSIBLE_NS = 9.9e18;

/** Names the unit a timestamp most likely uses, so an error can say "looks like milliseconds". */
export function guessTimestampUnit(value: number): 's' | 'ms' | 'us' | 'ns' | 'unknown' {
  if (value >= 1e8 && value < 1e10) return 's';
  if (value >= 1e11 && value < 1e13) return 'ms';
  if (value >= 1e14 && value < 1e16) return 'us';
  if (value >= MIN_PLAUSIBLE_NS && value < MAX_PLAUSIBLE_NS) return 'ns';
  return 'unknown';
}
