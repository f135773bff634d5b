import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { zodIssuesToConfigIssues } from '../adapter.js';

/**
 * Validates `input` against `schema` and returns the typed result, or throws a {@link ConfigError} listing every
 * problem as `path: message`.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(zodIssuesToConfigIssues(result.error), source === undefined ? {} : { source });
  }
  return result.data;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  catchall?: unknown;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  element?: unknown;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

/** The object schema under wrappers (optional, default, preprocess...), or undefined when there is none. */
function unwrap(schema: unknown): SchemaDef | undefined {
  for (let s = schema, depth = 0; s !== undefined && depth < 16; depth++) {
    const def = defOf(s);
    if (def === undefined) return undefined;
    if (def.type === 'object' || def.type === 'array') return def;
    if (def.type === 'pipe') {
      const out = unwrap(def.out);
      if (out !== undefined) return out;
      s = def.in;
    } else s = def.innerType;
  }
  return undefined;
}

function collectUnknown(schema: unknown, input: unknown, path: string, out: string[]): void {
  const def = unwrap(schema);
  if (def === undefined) return;
  if (def.type === 'array') {
    if (Array.isArray(input)) input.forEach((item, i) => collectUnknown(def.element, item, `${path}[${i}]`, out));
    return;
  }
  // A loose object (device entries, whose keys belong to each adapter) takes any key.
  if (def.shape === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) return;
  const catchall = defOf(def.catchall);
  if (catchall !== undefined && catchall.type !== 'never') return;
  for (const [key, value] of Object.entries(input)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (!Object.hasOwn(def.shape, key)) out.push(at);
    else collectUnknown(def.shape[key], value, at, out);
  }
}

/**
 * Keys of `input` that `schema` does not know, as paths (`STORE.retension`, `PODS[0].polling_intervall`). The
 * schemas ignore such keys, as the original did, so files with extra keys still load; callers warn about them,
 * since a typo otherwise silently leaves the default in place. Keys inside loose objects are not reported.
 */
export function unknownConfigKeys(schema: z.ZodType, input: unknown): string[] {
  const out: string[] = [];
  collectUnknown(schema, input, '', out);
  return out;
}

/**
 * Keys of one device entry (a `servers[]` object) that neither its adapter's schema nor the collector's common
 * keys (`commonKeys`: `id`, `type`, `active`) know, as paths under `path` (`PODS[0].servers[2].chanel`). Adapter
 * schemas are loose objects, so that the collector's keys pass through them, and {@link unknownConfigKeys} does
 * not look inside them; this does, and into their nested objects (a sensor's `scaling` for `scale`).
 */
export function unknownDeviceKeys(schema: z.ZodType, entry: unknown, commonKeys: readonly string[], path = ''): string[] {
  const out: string[] = [];
  const def = unwrap(schema);
  if (def?.type !== 'object' || def.shape === undefined || typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return out;
  }
  for (const [key, value] of Object.entries(entry)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (Object.hasOwn(def.shape, key)) collectUnknown(def.shape[key], value, at, out);
    else if (!commonKeys.includes(key)) out.push(at);
  }
  return out;
}

/**
 * Top-level keys of `input` that `schema` does not know but that differ from a key it knows only by case
 * (`auth` for `AUTH`), as `[given, known]` pairs. Such a key is ignored like any unknown key, which for a
 * section such as `AUTH` or `TLS` silently turns a protection off: callers refuse these rather than warn.
 */
export function caseVariantConfigKeys(schema: z.ZodType, input: unknown): Array<[string, string]> {
  const def = unwrap(schema);
  if (def?.type !== 'object' || def.shape === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [];
  }
  const known = new Map(Object.keys(def.shape).map((k) => [k.toLowerCase(), k]));
  const out: Array<[string, string]> = [];
  for (const key of Object.keys(input)) {
    if (Object.hasOwn(def.shape, key)) continue;
    const match = known.get(key.toLowerCase());
    if (match !== undefined) out.push([key, match]);
  }
  return out;
}

