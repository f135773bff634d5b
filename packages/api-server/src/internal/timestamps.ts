/**
 * Gives every reading of a batch its stored timestamp, replacing the original's random 0..9999 ns jitter.
 *
 * A reading keeps its own `time`, else `fallbackNs` (the batch's collect time, else the receive time). Readings
 * of one batch that would land on the same series (sensor and unit) at the same ns are told apart by their rank
 * among those duplicates: the k-th duplicate (0-based) gets `+k` ns, as a bigint because epoch ns beyond 2^53
 * cannot carry a 1 ns step as a double. The result depends only on the batch content, so re-sending a batch
 * rewrites the same points (idempotent), while distinct readings never overwrite each other.
 */
export function assignTimestamps(
  items: ReadonlyArray<{ sensor: string; unit: string; time?: number | undefined }>,
  fallbackNs: number,
): Array<number | bigint> {
  return assignTimestampsBy(
    items.length,
    (i) => (items[i] as (typeof items)[number]).time,
    (i) => {
      const m = items[i] as (typeof items)[number];
      return `${m.sensor}\u0000${m.unit}`;
    },
    fallbackNs,
  );
}

/**
 * {@link assignTimestamps} over `n` readings given by accessors: `timeAt(i)` is the reading's own time (undefined
 * when it has none), `seriesAt(i)` a key telling its series apart (only asked for when two readings share a time).
 */
export function assignTimestampsBy(
  n: number,
  timeAt: (i: number) => number | undefined,
  seriesAt: (i: number) => string,
  fallbackNs: number,
): Array<number | bigint> {
  const out = new Array<number | bigint>(n);
  const fallback = Math.round(fallbackNs);
  // Fast paths: when no two readings share a time (times rising, or all distinct), none can share a series and
  // a time.
  let rising = true;
  let previous = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = timeAt(i) ?? fallback;
    out[i] = t;
    if (!(t > previous)) rising = false;
    previous = t;
  }
  if (rising || new Set(out).size === n) return out;
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = out[i] as number;
    const key = `${seriesAt(i)}\u0000${t}`;
    const rank = seen.get(key) ?? 0;
    seen.set(key, rank + 1);
    if (rank > 0) out[i] = BigInt(t) + BigInt(rank);
  }
  return out;
}

/** The earliest of a batch's stored timestamps, as a double (Infinity for none). */
export function earliestNs(times: ArrayLike<number | bigint>): number {
  let min = Infinity;
  for (let i = 0; i < times.length; i++) {
    const t = Number(times[i]);
    if (t < min) min = t;
  }
  return min;
}

/**
 * The seconds part `hi` of an integer epoch-ns double `t` in [1e9, 2^62): `t = hi * 1e9 + lo` exactly, with
 * `0 <= lo < 1e9` (`lo = t - hi * 1e9`). hi * 1e9 is exact (below 2^53 before scaling by 2^9) and so is the
 * difference at these magnitudes; the division may round across a multiple of 1e9, which the correction undoes.
 */
export function nsSecondsPart(t: number): number {
  const hi = Math.floor(t / 1e9);
  const lo = t - hi * 1e9;
  return lo < 0 ? hi - 1 : lo >= 1e9 ? hi + 1 : hi;
}
