/**
 * Pure conversion of SNMP varbind values into numbers, following the original collector: numbers as they are,
 * `on`/`true` → 1 and `off`/`false` → 0 with unit `boolean`, `Unavailable` and other text skipped. Net-SNMP's
 * Opaque float and double are decoded too.
 */

import { shortestFloat32 } from '../internal/float32.js';

/** ASN.1 / SMI type tags as `net-snmp` reports them in `varbind.type`. */
export const SnmpType = Object.freeze({
  Boolean: 1,
  Integer: 2,
  OctetString: 4,
  Null: 5,
  OID: 6,
  IpAddress: 64,
  Counter: 65,
  Gauge: 66,
  TimeTicks: 67,
  Opaque: 68,
  Counter64: 70,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
});

/** A decoded value, or why it was skipped. */
export type SnmpDecoded =
  | { ok: true; value: number; boolean: boolean }
  | { ok: false; reason: string };

const NUMERIC = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** Reads an unsigned big-endian integer of any length (Counter64 arrives as a Buffer). */
export function bufferToUnsigned(buf: Uint8Array): number {
  let v = 0n;
  for (const byte of buf) v = (v << 8n) | BigInt(byte);
  return Number(v);
}

/** First bytes of Net-SNMP's Opaque-wrapped float / double: `[0x9f, 0x78 | 0x79, length]` (snmplib/asn1.c). */
const OPAQUE_TAG1 = 0x9f;
const OPAQUE_FLOAT = 0x78;
const OPAQUE_DOUBLE = 0x79;

/**
 * Decodes an Opaque value as `net-snmp` hands it over (the raw bytes inside the Opaque). Net-SNMP agents wrap
 * floats as `9f 78 04` + 4-byte big-endian IEEE 754 and doubles as `9f 79 08` + 8 bytes; anything else is
 * read as text like an octet string (and skipped unless it is a number or on/off).
 */
export function decodeOpaque(buf: Uint8Array): SnmpDecoded {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let value: number | undefined;
  if (b.length === 7 && b[0] === OPAQUE_TAG1 && b[1] === OPAQUE_FLOAT && b[2] === 4) value = shortestFloat32(b.readFloatBE(3));
  else if (b.length === 11 && b[0] === OPAQUE_TAG1 && b[1] === OPAQUE_DOUBLE && b[2] === 8) value = b.readDoubleBE(3);
  if (value === undefined) return decodeText(b.toString('utf8'));
  if (!Number.isFinite(value)) return { ok: false, reason: `non-finite Opaque float (${String(value)})` };
  return { ok: true, value, boolean: false };
}

/** Interprets text the way the original did: booleans, numbers, else skipped. */
export function decodeText(text: string): SnmpDecoded {
  const t = text.trim().replace(/^"(.*)"$/, '$1').trim();
  const lower = t.toLowerCase();
  if (lower === 'on' || lower === 'true') return { ok: true, value: 1, boolean: true };
  if (lower === 'off' || lower === 'false') return { ok: true, value: 0, boolean: true };
  if (lower === 'unavailable') return { ok: false, reason: 'device reports Unavailable' };
  if (NUMERIC.test(t)) return { ok: true, value: Number(t), boolean: false };
  return { ok: false, reason: `non-numeric value "${t.length > 40 ? `${t.slice(0, 40)}...` : t}"` };
}

/** Converts one varbind (`type`, `value` as `net-snmp` gives them) into a number or a skip reason. */
export function decodeVarbind(type: number | undefined, value: unknown): SnmpDecoded {
  switch (type) {
    case SnmpType.NoSuchObject:
      return { ok: false, reason: 'noSuchObject (OID not implemented by the agent)' };
    case SnmpType.NoSuchInstance:
      return { ok: false, reason: 'noSuchInstance (index not present on the agent)' };
    case SnmpType.EndOfMibView:
      return { ok: false, reason: 'endOfMibView' };
    case SnmpType.Null:
      return { ok: false, reason: 'null value' };
    case SnmpType.Boolean:
      return { ok: true, value: value === true ? 1 : 0, boolean: true };
    case SnmpType.Counter64:
      if (value instanceof Uint8Array) return { ok: true, value: bufferToUnsigned(value), boolean: false };
      break;
    case SnmpType.Opaque:
      if (value instanceof Uint8Array) return decodeOpaque(value);
      break;
    default:
      break;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value, boolean: false };
  if (typeof value === 'bigint') return { ok: true, value: Number(value), boolean: false };
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0, boolean: true };
  if (typeof value === 'string') return decodeText(value);
  if (value instanceof Uint8Array) return decodeText(Buffer.from(value).toString('utf8'));
  return { ok: false, reason: `unsupported value type ${String(type)}` };
}

/** Binary noise tolerated when scaling, in units in the last place of the result (a multiply, divide and add). */
const NOISE_ULPS = 4;

/** The gap between `x` and the next double away from zero. */
function ulp(x: number): number {
  const exponent = Math.floor(Math.log2(Math.abs(x)));
  return 2 ** (Math.max(exponent, -1022) - 52);
}

/**
 * `x` without the binary noise arithmetic left in its last digits (3 × 0.1 = 0.30000000000000004 → 0.3): the
 * shortest decimal of 15 or 16 significant digits within a few ulps of `x`, else `x`. Digits the value really
 * has are kept (123331043773177.5 stays), and integers are returned as they are.
 */
export function withoutBinaryNoise(x: number): number {
  if (Number.isInteger(x) || !Number.isFinite(x)) return x;
  const tolerance = NOISE_ULPS * ulp(x);
  for (const digits of [15, 16]) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.abs(candidate - x) <= tolerance) return candidate;
  }
  return x;
}

/**
 * Applies the sensor's scaling: `raw * scale * 10^-digits + offset`. Booleans are never scaled, and a value
 * with scale 1, offset 0 and no decimal digits is returned untouched (a Counter64 keeps every digit).
 */
export function scaleValue(
  decoded: { value: number; boolean: boolean },
  scale: number,
  offset: number,
  decimalDigits = 0,
): number {
  if (decoded.boolean) return decoded.value;
  if (scale === 1 && offset === 0 && decimalDigits === 0) return decoded.value;
  const v = decoded.value * scale;
  return withoutBinaryNoise((decimalDigits === 0 ? v : v / 10 ** decimalDigits) + offset);
}

/** `1.3.6.1` from `.1.3.6.1` or `iso.3.6.1` is not supported: numeric OIDs only (no MIB files are loaded). */
export function normaliseOid(oid: string): string {
  return oid.trim().replace(/^\./, '');
}

/** Whether `oid` is a numeric OID with at least two arcs. */
export function isNumericOid(oid: string): boolean {
  return /^\d+(\.\d+)+$/.test(normaliseOid(oid));
}
