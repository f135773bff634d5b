/**
 * Checks that a package README documents every key a zod settings schema accepts (house rule: every config key
 * is documented in its package README). Keys are written as paths: `INFLUX.host`, `PODS[].servers[].id`.
 */

/** The zod 4 internals walked here (`schema._zod.def`), typed loosely: only these fields are read. */
interface ZodLike {
  shape?: Record<string, unknown>;
  _zod?: { def?: Record<string, unknown> };
}

const WRAPPERS = ['innerType', 'in', 'out', 'schema'] as const;

/**
 * Every key path `schema` accepts, in declaration order: object keys joined with `.`, list elements as `[]`.
 * Looks through optional/default/prefault/nullable wrappers, pipes and preprocessing, unions and discriminated
 * unions (keys of all options, once each); stops at records and at a `stopAt` path (where another README takes
 * over, e.g. the adapter keys of `PODS[].servers[]`).
 */
export function configKeyPaths(schema: unknown, stopAt: readonly string[] = []): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  const walk = (s: unknown, path: string, depth: number): void => {
    if (depth > 40 || s === null || typeof s !== 'object') return;
    const z = s as ZodLike;
    const def = z._zod?.def;
    if (def === undefined) return;
    if (def['type'] === 'object' && z.shape !== undefined) {
      for (const [k, v] of Object.entries(z.shape)) {
        const p = path === '' ? k : `${path}.${k}`;
        add(p);
        if (!stopAt.includes(p)) walk(v, p, depth + 1);
      }
      return;
    }
    if (def['type'] === 'array') {
      const p = `${path}[]`;
      if (!stopAt.includes(p)) walk(def['element'], p, depth + 1);
      return;
    }
    if (def['type'] === 'union' && Array.isArray(def['options'])) {
      for (const o of def['options']) walk(o, path, depth + 1);
      return;
    }
    if (def['type'] === 'lazy' && typeof def['getter'] === 'function') {
      walk((def['getter'] as () => unknown)(), path, depth + 1);
      return;
    }
    for (const w of WRAPPERS) if (def[w] !== undefined) walk(def[w], path, depth + 1);
  };
  walk(schema, '', 0);
  return out;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `markdown` documents `path`: written whole in backquotes (`` `INFLUX.host` ``, or followed by `[` or
 * `.`), or, for a key under a parent, its bare name in backquotes on a line that names the parent
 * (`` `INFLUX.user` / `pass` ``, `` `TLS.cert_file`, `key_file` ``).
 */
export function isKeyDocumented(markdown: string, path: string): boolean {
  if (new RegExp(`\`${escapeRegExp(path)}(\`|\\[|\\.)`).test(markdown)) return true;
  const dot = path.lastIndexOf('.');
  if (dot < 0) return false;
  const parent = path.slice(0, dot);
  const key = path.slice(dot + 1);
  const named = new RegExp(`\`${escapeRegExp(parent)}\\.`);
  const bare = new RegExp(`\`${escapeRegExp(key)}(\`|\\[|\\.)`);
  return markdown.split('\n').some((line) => named.test(line) && bare.test(line));
}

/** The key paths of `schema` that `markdown` does not document (see {@link isKeyDocumented}). */
export function undocumentedKeys(markdown: string, schema: unknown, options: { stopAt?: readonly string[]; ignore?: readonly string[] } = {}): string[] {
  const ignore = new Set(options.ignore ?? []);
  return configKeyPaths(schema, options.stopAt).filter((p) => !ignore.has(p) && !isKeyDocumented(markdown, p));
}
