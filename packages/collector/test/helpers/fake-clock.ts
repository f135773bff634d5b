import type { Clock, TimerHandle } from '../../src/internal/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A manual clock: timers fire only inside {@link FakeClock.advance}, in time order. */
export class FakeClock implements Clock {
  private now: number;
  private seq = 0;
  private timers: Pending[] = [];

  constructor(startMs: number) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const t: Pending = { at: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }

  /** Moves time forward without firing anything, as an event loop blocked by a long synchronous task. */
  jump(ms: number): void {
    this.now += ms;
  }

  /**
   * Steps the wall clock by `ms` (negative: backwards) as NTP or an RTC fix does. Timers run on the monotonic
   * clock, so each still fires after the same elapsed time: their wall-clock due times move with the step.
   */
  stepWallClock(ms: number): void {
    this.now += ms;
    for (const t of this.timers) t.at += ms;
  }

  /** Moves time forward by `ms`, firing due timers and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (next === undefined || next.at > target) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.at);
      next.fn();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
