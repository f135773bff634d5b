/** Small readers for untrusted JSON: they return `undefined` instead of throwing on a wrong shape. */

/** A plain JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a non-null, non-array object. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `obj[key]` when `obj` is an object. */
export function prop(obj: unknown, key: string): unknown {
  return isObject(obj) ? obj[key] : undefined;
}

/** Follows `keys` through nested objects and arrays (numeric keys index arrays). */
export function at(obj: unknown, ...keys: (string | number)[]): unknown {
  let cur = obj;
  for (const k of keys) {
    if (typeof k === 'number') cur = Array.isArray(cur) ? (cur as unknown[])[k] : undefined;
    else cur = prop(cur, k);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** `v` as an array, or an empty array. */
export function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}

/** `v` as a string when it is one. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The result of reading a numeric field: a finite number, absent/null, or present with a wrong type. */
export type NumberField = { kind: 'number'; value: number } | { kind: 'missing' } | { kind: 'invalid'; raw: unknown };

/**
 * Reads a numeric field strictly. Firmware sometimes sends numbers as strings (`"245"`); those are accepted when
 * they are plain decimal numbers, anything else is `invalid` so the caller can say so instead of guessing.
 */
export function numberField(v: unknown): NumberField {
  if (v === undefined || v === null) return { kind: 'missing' };
  if (typeof v === 'number') return Number.isFinite(v) ? { kind: 'number', value: v } : { kind: 'invalid', raw: v };
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return { kind: 'number', value: Number(v) };
  return { kind: 'invalid', raw: v };
}

/** Describes a raw value for an error message. */
export function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** A device payload that does not have the expected shape; adapters wrap it in an `ER_ADAPTER_PAYLOAD` error. */
export class PayloadProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadProblem';
  }
}

/** A web UI login the device refused (no session handed out); adapters turn it into `ER_ADAPTER_AUTH`. */
export class LoginRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginRefused';
  }
}

/** Reads a required numeric field, throwing a {@link PayloadProblem} naming `field` otherwise. */
export function requireNumber(v: unknown, field: string): number {
  const f = numberField(v);
  if (f.kind === 'number') return f.value;
  throw new PayloadProblem(f.kind === 'missing' ? `${field} is absent or null` : `${field} is ${describe(f.raw)}, not a number`);
}
