/** Nanoseconds per millisecond, as a bigint-free number factor. */
export const NS_PER_MS = 1_000_000;
/** Nanoseconds per second. */
export const NS_PER_S = 1_000_000_000;

/** Wall-clock milliseconds are trusted to this far; beyond it the monotonic clock is re-anchored to them. */
const CLOCK_TOLERANCE_MS = 2;

/**
 * A wall clock in epoch ns with the monotonic clock's sub-millisecond precision: `monoMs` (a monotonic clock in
 * ms) anchored to `wallMs` (epoch ms), and re-anchored whenever the two disagree by more than 2 ms. So it follows
 * the wall clock when NTP steps or slews it, or after a suspend, where `performance.timeOrigin + performance.now()`
 * stays on the offset it had at start: an API started before NTP synced would stamp every event 40 s off until
 * restarted. Exported with injectable clocks for tests; {@link nowNs} is the process's instance.
 */
export function createWallClockNs(wallMs: () => number, monoMs: () => number): () => number {
  let anchorWall = wallMs();
  let anchorMono = monoMs();
  return () => {
    const mono = monoMs();
    const wall = wallMs();
    let ms = anchorWall + (mono - anchorMono);
    if (Math.abs(ms - wall) > CLOCK_TOLERANCE_MS) {
      anchorWall = wall;
      anchorMono = mono;
      ms = wall;
    }
    return Math.round(ms * NS_PER_MS);
  };
}

/**
 * The current wall-clock time in nanoseconds since the epoch, with sub-millisecond precision where the platform
 * has it, following steps of the system clock (see {@link createWallClockNs}). Kept as a `number`: current epoch
 * ns (~1.7e18) exceeds 2^53, so the last three digits are not exact; that is 256 ns of resolution, far finer than
 * any power meter.
 */
export const nowNs: () => number = createWallClockNs(
  () => Date.now(),
  () => performance.now(),
);

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
