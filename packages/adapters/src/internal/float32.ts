/** Integer float32 values up to this magnitude (the uint32 range of counters) are reported exactly. */
const EXACT_INTEGER_LIMIT = 2 ** 32;

/**
 * The decimal to report for the float32 `f`: the value itself when it is an integer within ±2^32 (12345678,
 * 16777215, 40000008), else the shortest decimal (at most 9 significant digits, which always suffice) that reads
 * back as the same float32: 230.1 rather than 230.10000610351562. The shortest decimal alone could turn an exact
 * integer above 2^25 into a rounder neighbour of the same float32 (40000008 into 40000010).
 */
export function shortestFloat32(f: number): number {
  if (!Number.isFinite(f)) return f;
  const single = Math.fround(f);
  if (Number.isInteger(single) && Math.abs(single) <= EXACT_INTEGER_LIMIT) return single;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return Number(single.toPrecision(9));
}
