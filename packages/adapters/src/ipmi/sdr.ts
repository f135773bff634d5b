/** SDR base unit codes (IPMI v2.0 §43.17) this adapter cares about. */
export const SDR_UNIT_WATTS = 6;

/** Analog data formats of a full sensor record (§43.1, byte 21 bits 7:6). */
export type AnalogFormat = 'unsigned' | 'ones-complement' | 'twos-complement' | 'none';

/** The parts of a Full Sensor Record (type 01h, IPMI v2.0 §43.1) needed to read and convert a sensor. */
export interface FullSensorRecord {
  recordId: number;
  ownerId: number;
  ownerLun: number;
  /** Channel of the owner (0 = primary IPMB). */
  channel: number;
  sensorNumber: number;
  sensorType: number;
  readingType: number;
  analogFormat: AnalogFormat;
  baseUnit: number;
  /**
   * Linearization (§43.1 byte 24, §36.3): 0 linear, 1–11 a function applied to the linear result (see
   * {@link LINEARIZATIONS}), 70h–7Fh non-linear with per-reading factors (not supported).
   */
  linearization: number;
  m: number;
  b: number;
  bExp: number;
  rExp: number;
  name: string;
}

/** Sign-extends the low `bits` bits of `v`. */
function signed(v: number, bits: number): number {
  const sign = 1 << (bits - 1);
  const masked = v & ((1 << bits) - 1);
  return (masked ^ sign) - sign;
}

const FORMATS: readonly AnalogFormat[] = ['unsigned', 'ones-complement', 'twos-complement', 'none'];

/**
 * Decodes a full sensor record from the complete record bytes (header included). Returns `undefined` for any
 * other record type.
 */
export function parseFullSensorRecord(record: Uint8Array): FullSensorRecord | undefined {
  if (record.length < 48 || record[3] !== 0x01) return undefined;
  const at = (i: number): number => record[i] ?? 0;
  const idCode = at(47);
  const idType = idCode >> 6;
  const idLength = idCode & 0x1f;
  const idBytes = record.subarray(48, 48 + idLength);
  // Type 3 = 8-bit ASCII+Latin-1; 6-bit packed and BCD names are rare on power sensors and read as hex.
  const name =
    idType === 3 ? Buffer.from(idBytes).toString('latin1').replace(/\0+$/, '') : Buffer.from(idBytes).toString('hex');
  return {
    recordId: at(0) | (at(1) << 8),
    ownerId: at(5),
    ownerLun: at(6) & 0x03,
    channel: at(6) >> 4,
    sensorNumber: at(7),
    sensorType: at(12),
    readingType: at(13),
    analogFormat: FORMATS[at(20) >> 6] ?? 'none',
    baseUnit: at(21),
    linearization: at(23) & 0x7f,
    m: signed(at(24) | ((at(25) >> 6) << 8), 10),
    b: signed(at(26) | ((at(27) >> 6) << 8), 10),
    rExp: signed(at(29) >> 4, 4),
    bExp: signed(at(29) & 0x0f, 4),
    name,
  };
}

/**
 * The linearization functions of IPMI v2.0 §36.3 (table 36-2), applied to the linear result as ipmitool does:
 * y = L[(M·x + B·10^Bexp)·10^Rexp].
 */
export const LINEARIZATIONS: ReadonlyMap<number, { name: string; fn: (y: number) => number }> = new Map([
  [0, { name: 'linear', fn: (y: number) => y }],
  [1, { name: 'ln', fn: Math.log }],
  [2, { name: 'log10', fn: Math.log10 }],
  [3, { name: 'log2', fn: Math.log2 }],
  [4, { name: 'e', fn: Math.exp }],
  [5, { name: 'exp10', fn: (y: number) => 10 ** y }],
  [6, { name: 'exp2', fn: (y: number) => 2 ** y }],
  [7, { name: '1/x', fn: (y: number) => 1 / y }],
  [8, { name: 'sqr', fn: (y: number) => y * y }],
  [9, { name: 'cube', fn: (y: number) => y * y * y }],
  [10, { name: 'sqrt', fn: Math.sqrt }],
  [11, { name: 'cube^-1', fn: Math.cbrt }],
]);

/**
 * Why a record's readings cannot be converted (`undefined` when they can): a linearization code outside §36.3's
 * table (70h–7Fh need Get Sensor Reading Factors for every reading), or no analog reading at all.
 */
export function unconvertibleReason(rec: FullSensorRecord): string | undefined {
  if (rec.analogFormat === 'none') return 'the sensor has no analog reading (analog data format 11b)';
  if (!LINEARIZATIONS.has(rec.linearization)) {
    const code = `0x${rec.linearization.toString(16).padStart(2, '0')}`;
    return rec.linearization >= 0x70
      ? `non-linear sensor (linearization ${code}) whose factors change with each reading: not supported`
      : `unknown linearization code ${code}`;
  }
  return undefined;
}

/**
 * Converts a raw reading with the record's factors: y = L[(M·x + B·10^Bexp)·10^Rexp] (§36.3), L being the
 * record's linearization function. Returns `undefined` when {@link unconvertibleReason} gives a reason, and when
 * the function has no finite value there (ln 0, 1/0).
 */
export function convertReading(rec: FullSensorRecord, raw: number): number | undefined {
  const linearization = LINEARIZATIONS.get(rec.linearization);
  if (linearization === undefined || rec.analogFormat === 'none') return undefined;
  let x = raw & 0xff;
  if (rec.analogFormat === 'twos-complement') x = signed(x, 8);
  else if (rec.analogFormat === 'ones-complement') x = x & 0x80 ? -(~x & 0x7f) : x;
  const value = (rec.m * x + rec.b * 10 ** rec.bExp) * 10 ** rec.rExp;
  // Powers of ten of negative exponents are inexact in binary; round to the resolution the factors allow.
  const decimals = Math.max(0, -rec.rExp, -(rec.rExp + rec.bExp));
  const linear = Number(value.toFixed(Math.min(decimals, 12)));
  if (rec.linearization === 0) return linear;
  const y = linearization.fn(linear);
  // 12 significant digits: drops the binary noise of the functions (log10(1000) = 2.9999999999999996).
  return Number.isFinite(y) ? Number(y.toPrecision(12)) : undefined;
}

/**
 * Power sensor name patterns by IANA manufacturer id, as the original collector's table (seed-behaviour §2.3).
 */
export const MANUFACTURER_POWER_SENSORS: ReadonlyMap<number, { vendor: string; pattern: RegExp }> = new Map([
  [11, { vendor: 'HP', pattern: /Power Meter/ }],
  [20301, { vendor: 'IBM', pattern: /Avg Power/ }],
  [28458, { vendor: 'Nokia', pattern: /HSC Input Power/ }],
  [10297, { vendor: 'Advantech', pattern: /BOARD_POWER/ }],
  [40092, { vendor: 'Lenovo', pattern: /HSC Input Power/ }],
  [674, { vendor: 'Dell', pattern: /Pwr Consumption/ }],
  [5771, { vendor: 'Cisco', pattern: /POWER_USAGE/ }],
  [343, { vendor: 'Intel', pattern: /PS.* Input Power/ }],
  [2011, { vendor: 'Huawei', pattern: /Power[0-9]+|Power {2}/ }],
  [19046, { vendor: 'Lenovo', pattern: /Sys Power/ }],
]);

/**
 * Picks the power sensors of a BMC: the names in `explicit` when given (exact match), otherwise those whose
 * name matches the manufacturer's pattern. Only Watts sensors are kept in the pattern case; an explicit list is
 * trusted as given.
 */
export function selectPowerSensors(
  records: readonly FullSensorRecord[],
  manufacturerId: number,
  explicit: readonly string[] | undefined,
): FullSensorRecord[] {
  if (explicit !== undefined && explicit.length > 0) {
    const wanted = new Set(explicit);
    return records.filter((r) => wanted.has(r.name.trimEnd()));
  }
  const entry = MANUFACTURER_POWER_SENSORS.get(manufacturerId);
  if (entry === undefined) return [];
  return records.filter((r) => entry.pattern.test(r.name) && r.baseUnit === SDR_UNIT_WATTS);
}
