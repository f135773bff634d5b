const UNIT_NS: Record<string, number> = {
  ns: 1,
  u: 1e3,
  µ: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86_400e9,
  w: 604_800e9,
};

/**
 * Parses an InfluxDB duration literal (`3w`, `12h`, `1h30m`, `INF`) into ns; `INF` gives `undefined` (keep
 * forever). The same syntax as the InfluxDB retention settings, so both stores read alike.
 */
export function parseDurationNs(text: string): number | undefined {
  if (text === 'INF') return undefined;
  const re = /(\d+)(ns|u|µ|ms|s|m|h|d|w)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_NS[m[2] as string] as number);
    end = re.lastIndex;
  }
  if (end !== text.length || end === 0) throw new RangeError(`"${text}" is not a duration such as 3w, 12h or INF`);
  return total;
}
