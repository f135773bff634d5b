/** A JSON document, as a fuzz test builds and mutates it. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Values that break naive input handling: wrong types, empties, huge and tiny numbers, timestamps in the wrong
 * unit, names with the characters line protocol, CSV, URLs and logs care about, long strings, nested objects and
 * a `__proto__` key.
 */
export const ODD_JSON_VALUES: readonly Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0,
  1e308,
  -1e308,
  2 ** 63,
  1_700_000_000,
  1_700_000_000_000,
  1_700_000_000_000_000,
  '',
  ' ',
  'a\nb',
  'tab\there',
  'ends\\',
  'quo"te',
  'co,mma=eq ual',
  'sl/ash',
  '\u0000nul',
  'é🙂',
  'x'.repeat(300),
  'x'.repeat(5000),
  '1700000000000000000',
  [],
  [1, 2],
  {},
  { nested: { deeper: [null] } },
  JSON.parse('{"__proto__":{"polluted":true}}') as Json,
];

/**
 * A deep copy of `value` with one random change: the value at a random path replaced by one of `odd` (70 %),
 * removed (15 %), or an unknown key added next to it (15 %). Returns the copy and the path changed (`[]` when the
 * whole document was replaced).
 */
export function mutateJson(rand: () => number, value: Json, odd: readonly Json[] = ODD_JSON_VALUES): { value: Json; path: string[] } {
  const copy = structuredClone(value);
  const paths: string[][] = [];
  const walk = (v: Json, p: string[]): void => {
    paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, String(i)]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(copy, []);
  const path = paths[Math.floor(rand() * paths.length)] ?? [];
  // A fresh copy each time, so a value inserted twice never ends up inside itself.
  const pick = (): Json => structuredClone(odd[Math.floor(rand() * odd.length)] ?? null);
  if (path.length === 0) return { value: pick(), path };
  const parent = path.slice(0, -1).reduce<Json>((v, k) => (v as Record<string, Json>)[k] as Json, copy) as Record<string, Json> | Json[];
  const key = path[path.length - 1] as string;
  const op = rand();
  if (op < 0.7) (parent as Record<string, Json>)[key] = pick();
  else if (op < 0.85) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (!Array.isArray(parent)) parent[`unknown_${Math.floor(rand() * 100)}`] = pick();
  return { value: copy, path };
}
