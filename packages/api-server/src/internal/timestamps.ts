/**
 * Gives every reading of a batch its stored timestamp, replacing the original's random 0..9999 ns jitter.
 *
 * A reading keeps its own `time`, else the batch's collect `time`, else the receive time. Readings of one batch
 * that would land on the same series at the same ns are told apart by their rank among those duplicates: the
 * k-th duplicate (0-based) gets `+k` ns. The result depends only on the batch content, so re-sending a batch
 * rewrites the same points (idempotent), while distinct readings never overwrite each other.
 */
export function assignTimestamps<T>(
  items: readonly T[],
  seriesKey: (item: T) => string,
  baseNs: (item: T) => number,
): bigint[] {
  const seen = new Map<string, number>();
  const out: bigint[] = [];
  for (const item of items) {
    const base = BigInt(Math.round(baseNs(item)));
    const key = `${seriesKey(item)}\u0000${base}`;
    const rank = seen.get(key) ?? 0;
    seen.set(key, rank + 1);
    out.push(base + BigInt(rank));
  }
  return out;
}
