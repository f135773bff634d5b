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
  const n = items.length;
  const out = new Array<number | bigint>(n);
  const fallback = Math.round(fallbackNs);
  // Fast path: when no two readings share a time, none can share a series and a time.
  const seenTimes = new Set<number>();
  for (let i = 0; i < n; i++) {
    const t = (items[i] as (typeof items)[number]).time ?? fallback;
    out[i] = t;
    seenTimes.add(t);
  }
  if (seenTimes.size === n) return out;
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const m = items[i] as (typeof items)[number];
    const t = out[i] as number;
    const key = `${m.sensor}\u0000${m.unit}\u0000${t}`;
    const rank = seen.get(key) ?? 0;
    seen.set(key, rank + 1);
    if (rank > 0) out[i] = BigInt(t) + BigInt(rank);
  }
  return out;
}
