/**
 * One burst of load on top of the idle power. The extra power follows `peak · sin²(π·t/D)`: it leaves and
 * returns to idle with zero slope, so a step boundary (which falls between bursts) sits on flat power and the
 * collector's 1 s trapezoid integration stays within a fraction of a percent of the exact integral. A square
 * load would be smeared across the sample that straddles each boundary (several percent per step).
 */
export interface Burst {
  /** Start, ms since the epoch. */
  startMs: number;
  durationMs: number;
  /** Extra power at the middle of the burst, in watts. */
  peakWatts: number;
}

/** Energy of the first `x` seconds of a sin² burst of length `d` s and peak `a` W, in joules. */
function burstEnergy(a: number, d: number, x: number): number {
  const t = Math.min(Math.max(x, 0), d);
  return a * (t / 2 - (d / (4 * Math.PI)) * Math.sin((2 * Math.PI * t) / d));
}

/**
 * The power drawn by one simulated machine: a constant idle power plus the bursts its workload asked for. Power
 * and energy are exact functions of wall-clock time, so the demo can print the analytic energy of any window.
 */
export class LoadProfile {
  private readonly bursts: Burst[] = [];

  constructor(readonly idleWatts: number) {
    if (!Number.isFinite(idleWatts) || idleWatts < 0) throw new RangeError(`idleWatts must be >= 0, got ${idleWatts}`);
  }

  /** Adds a burst. Bursts may overlap; their extra powers add up. */
  addBurst(burst: Burst): void {
    if (!(burst.durationMs > 0) || !Number.isFinite(burst.peakWatts)) {
      throw new RangeError('a burst needs a positive duration and a finite peak');
    }
    this.bursts.push({ ...burst });
  }

  /** Power in watts at `ms` (ms since the epoch). */
  powerAt(ms: number): number {
    let w = this.idleWatts;
    for (const b of this.bursts) {
      const x = ms - b.startMs;
      if (x > 0 && x < b.durationMs) w += b.peakWatts * Math.sin((Math.PI * x) / b.durationMs) ** 2;
    }
    return w;
  }

  /** Exact energy in joules between `fromMs` and `toMs` (ms since the epoch). */
  energyJoules(fromMs: number, toMs: number): number {
    if (toMs <= fromMs) return 0;
    let j = (this.idleWatts * (toMs - fromMs)) / 1000;
    for (const b of this.bursts) {
      const d = b.durationMs / 1000;
      j += burstEnergy(b.peakWatts, d, (toMs - b.startMs) / 1000) - burstEnergy(b.peakWatts, d, (fromMs - b.startMs) / 1000);
    }
    return j;
  }

  /** Highest power between `fromMs` and `toMs`, sampled finely enough for sin² bursts (10 ms). */
  peakWatts(fromMs: number, toMs: number): number {
    let peak = this.powerAt(fromMs);
    for (let t = fromMs; t <= toMs; t += 10) peak = Math.max(peak, this.powerAt(t));
    return Math.max(peak, this.powerAt(toMs));
  }
}
