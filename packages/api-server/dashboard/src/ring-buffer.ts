/**
 * Fixed-capacity ring of (time, value) samples in typed arrays: pushing never allocates, and the oldest sample is
 * overwritten once full, so an hour of 1 Hz data for 50 equipments costs a constant 50 × capacity × 16 bytes.
 * Times are epoch seconds (uPlot's time unit).
 */
export class SeriesRing {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;
  private lastTime = Number.NEGATIVE_INFINITY;
  /** Smoothed spacing between samples, in seconds (0 until two samples were seen). */
  intervalS = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  /** Number of samples held. */
  get size(): number {
    return this.count;
  }

  /** Time of the newest sample, or -Infinity when empty. */
  get newestTime(): number {
    return this.lastTime;
  }

  /** Value of the newest sample, or undefined when empty. */
  get newestValue(): number | undefined {
    if (this.count === 0) return undefined;
    return this.values[(this.head + this.count - 1) % this.capacity];
  }

  /**
   * Appends a sample. Samples older than the newest one are dropped: the live stream delivers batches in order
   * per equipment, and keeping the ring sorted lets range scans stop early.
   */
  push(timeS: number, value: number): boolean {
    if (!Number.isFinite(timeS) || !Number.isFinite(value) || timeS < this.lastTime) return false;
    if (this.count > 0) {
      const dt = timeS - this.lastTime;
      if (dt > 0) this.intervalS = this.intervalS === 0 ? dt : this.intervalS * 0.8 + dt * 0.2;
    }
    const idx = (this.head + this.count) % this.capacity;
    this.times[idx] = timeS;
    this.values[idx] = value;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
    this.lastTime = timeS;
    return true;
  }

  /** Index (0 = oldest) of the first sample at or after `timeS`; `size` when none. */
  lowerBound(timeS: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[(this.head + mid) % this.capacity] as number) < timeS) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Calls `fn` for every sample with `fromS <= time <= toS`, oldest first. */
  forEachInRange(fromS: number, toS: number, fn: (timeS: number, value: number) => void): void {
    for (let i = this.lowerBound(fromS); i < this.count; i++) {
      const idx = (this.head + i) % this.capacity;
      const t = this.times[idx] as number;
      if (t > toS) break;
      fn(t, this.values[idx] as number);
    }
  }

  /** Removes every sample. */
  clear(): void {
    this.head = 0;
    this.count = 0;
    this.lastTime = Number.NEGATIVE_INFINITY;
    this.intervalS = 0;
  }
}
