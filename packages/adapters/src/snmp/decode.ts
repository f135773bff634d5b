/**
 * Pure conversion of SNMP varbind values into numbers, following the original collector: numbers as they are,
 * `on`/`true` → 1 and `off`/`false` → 0 with unit `boolean`, `Unavailable` and other text skipped.
 */

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

/** Applies the sensor's scaling: `raw * scale * 10^-digits + offset`. Booleans are never scaled. */
export function scaleValue(
  decoded: { value: number; boolean: boolean },
  scale: number,
  offset: number,
  decimalDigits = 0,
): number {
  if (decoded.boolean) return decoded.value;
  const v = decoded.value * scale;
  const scaled = decimalDigits === 0 ? v : v / 10 ** decimalDigits;
  // Multiplying by 0.1 leaves binary noise (0.30000000000000004); round to 12 significant digits.
  return Number((scaled + offset).toPrecision(12));
}

/** `1.3.6.1` from `.1.3.6.1` or `iso.3.6.1` is not supported: numeric OIDs only (no MIB files are loaded). */
export function normaliseOid(oid: string): string {
  return oid.trim().replace(/^\./, '');
}

/** Whether `oid` is a numeric OID with at least two arcs. */
export function isNumericOid(oid: string): boolean {
  return /^\d+(\.\d+)+$/.test(normaliseOid(oid));
}
