/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Wall-clock time and timers, injectable so the scheduler can be driven by a fake clock in tests. Ticks are
 * aligned on the wall clock (`Date.now()`), not on process uptime, so several collectors tick together.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /** Runs `fn` once after `delayMs`. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
}

/** The real clock: `Date.now()` and `setTimeout`. Its pending timers keep the daemon's process alive. */
export const systemClock: Clock = Object.freeze({
  nowMs: () => Date.now(),
  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
});
