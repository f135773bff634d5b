/**
 * Gives every reading of a batch its stored timestamp, replacing the original's random 0..9999 ns jitter.
 *
 * A reading keeps its own `time`, else `fallbackNs` (the batch's collect time, else the receive time). Two rules
 * then keep distinct readings of one series (sensor and unit) from landing on the same ns, where the store would
 * keep only the last:
 *
 * - A time that is a whole second (the original collectors stamp `int(now_s) * 1e9`, so two polls within one
 *   second share it) moves forward by {@link wholeSecondOffsetNs}, less than 1 ms, derived from the series, the
 *   value and the second: readings of different values in one second land apart (two at random collide with a
 *   chance of 1 in 10^6, where the original's jitter gave 1 in 10^4), while a re-sent reading, in whatever batch,
 *   lands on its own earlier point. Readings with finer times (our collectors stamp in ns) are never moved.
 * - Readings of one batch that still share a series and a time are told apart by their rank among those
 *   duplicates: the k-th duplicate (0-based) gets `+k` ns.
 *
 * A moved or ranked time is a bigint, because epoch ns beyond 2^53 cannot carry a 1 ns step as a double. The
 * result depends only on the batch content, so re-sending a batch rewrites the same points (idempotent).
 */
export function assignTimestamps(
  items: ReadonlyArray<{ sensor: string; unit: string; value: number; time?: number | undefined }>,
  fallbackNs: number,
): Array<number | bigint> {
  return assignTimestampsBy(
    items.length,
    (i) => (items[i] as (typeof items)[number]).time,
    (i) => {
      const m = items[i] as (typeof items)[number];
      return `${m.sensor}\u0000${m.unit}`;
    },
    (i) => (items[i] as (typeof items)[number]).value,
    fallbackNs,
  );
}

/**
 * {@link assignTimestamps} over `n` readings given by accessors: `timeAt(i)` is the reading's own time (undefined
 * when it has none), `seriesAt(i)` a key telling its series apart and `valueAt(i)` its value (both only asked for
 * when a reading's time is a whole second or two readings share a time).
 */
export function assignTimestampsBy(
  n: number,
  timeAt: (i: number) => number | undefined,
  seriesAt: (i: number) => string,
  valueAt: (i: number) => number,
  fallbackNs: number,
): Array<number | bigint> {
  const out = new Array<number | bigint>(n);
  const fallback = Math.round(fallbackNs);
  // Fast paths: when no time is a whole second and no two readings share a time (times rising, or all distinct),
  // none can share a series and a time.
  let rising = true;
  let whole = false;
  let previous = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = timeAt(i) ?? fallback;
    out[i] = t;
    if (!(t > previous)) rising = false;
    if (isWholeSecond(t)) whole = true;
    previous = t;
  }
  if (!whole && (rising || new Set(out).size === n)) return out;
  const series = new Array<string>(n);
  for (let i = 0; i < n; i++) series[i] = seriesAt(i);
  if (whole) {
    for (let i = 0; i < n; i++) {
      const t = out[i] as number;
      if (isWholeSecond(t)) out[i] = BigInt(t) + BigInt(wholeSecondOffsetNs(t, series[i] as string, valueAt(i)));
    }
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = out[i] as number | bigint;
    // Exact digits: once some times are bigints, a double's shortest decimal could name another integer.
    const exact = whole ? (typeof t === 'bigint' ? t : BigInt(t)) : t;
    const key = `${series[i] as string}\u0000${exact}`;
    const rank = seen.get(key) ?? 0;
    seen.set(key, rank + 1);
    if (rank > 0) out[i] = BigInt(exact) + BigInt(rank);
  }
  return out;
}

/**
 * True when the epoch-ns integer `t` is a whole second. Exact below 2^62 (year 2116): `Math.floor(t / 1e9)` is
 * the seconds part or one off it, and that times 1e9 is exact there, so it equals `t` only for a whole second.
 */
export function isWholeSecond(t: number): boolean {
  return t < 2 ** 62 && Math.floor(t / 1e9) * 1e9 === t;
}

/** Spread of {@link wholeSecondOffsetNs}: below 1 ms, far under the original collectors' 1 s resolution. */
const WHOLE_SECOND_SPREAD_NS = 1_000_000;

const valueBits = new DataView(new ArrayBuffer(8));

/**
 * The offset, in [0, {@link WHOLE_SECOND_SPREAD_NS}), of a reading stamped on the whole second `t`: a hash
 * (FNV-1a over the second, the series key and the value's IEEE-754 bits, then a murmur3 finaliser) of what tells
 * the reading apart, and of nothing else (not the batch, which a spool may cut differently when it replays).
 */
function wholeSecondOffsetNs(t: number, series: string, value: number): number {
  let h = 0x811c9dc5;
  const word = (w: number): void => {
    for (let k = 0; k < 32; k += 8) h = Math.imul(h ^ ((w >>> k) & 0xff), 0x01000193);
  };
  const seconds = Math.floor(t / 1e9);
  word(seconds >>> 0);
  word(Math.floor(seconds / 2 ** 32));
  for (let j = 0; j < series.length; j++) {
    const c = series.charCodeAt(j);
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
    h = Math.imul(h ^ (c >>> 8), 0x01000193);
  }
  valueBits.setFloat64(0, value, true);
  word(valueBits.getUint32(0, true));
  word(valueBits.getUint32(4, true));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % WHOLE_SECOND_SPREAD_NS;
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
