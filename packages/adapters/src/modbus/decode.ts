/**
 * Pure Modbus helpers: register types of the original collector (and the 64-bit ones energy meters need), word
 * order, SunSpec scale factors, and the read plan that fetches all sensors of a device in as few requests as the
 * register layout allows.
 */

import { shortestFloat32 } from '../internal/float32.js';

/**
 * The original's register types (int16, uint16, int32, uint32, float32), then int64, uint64 and float64: meters
 * keep energy in 64-bit registers (Schneider PM5xxx "Active Energy Delivered" is INT64 Wh at register 3204).
 */
export const MODBUS_REGISTER_TYPES = ['MBI', 'MBU', 'MBL', 'MBUL', 'MBF', 'MBLL', 'MBULL', 'MBD'] as const;
/** One of {@link MODBUS_REGISTER_TYPES}. */
export type ModbusRegisterType = (typeof MODBUS_REGISTER_TYPES)[number];
/** `right`: first register is the most significant word (big-endian); `left`: words in the reverse order. */
export type ModbusWordOrder = 'right' | 'left';
/** Holding registers (function 3) or input registers (function 4). */
export type ModbusRegisterCategory = 'holding' | 'input';

/** The protocol's limit on registers per read request (Modbus Application Protocol v1.1b3 §6.3). */
export const MODBUS_MAX_REGISTERS_PER_READ = 125;

/** Registers a value of `type` occupies. */
export function registerCount(type: ModbusRegisterType): 1 | 2 | 4 {
  switch (type) {
    case 'MBI':
    case 'MBU':
      return 1;
    case 'MBLL':
    case 'MBULL':
    case 'MBD':
      return 4;
    default:
      return 2;
  }
}

/**
 * Decodes the registers of one value. `words` holds 16-bit unsigned register values as read; `left` takes the
 * words of a multi-register value in reverse order (least significant word first, as Carlo Gavazzi meters send
 * INT32). A float32 value comes out as the shortest decimal that is the same float32 (see {@link shortestFloat32}),
 * so 230.1 does not come out as 230.10000610351562 and 16777215 stays 16777215; 64-bit integers are exact up to
 * 2^53 (about 9 x 10^15), beyond that the nearest double.
 */
export function decodeRegisters(words: readonly number[], type: ModbusRegisterType, order: ModbusWordOrder = 'right'): number {
  const need = registerCount(type);
  if (words.length < need) throw new RangeError(`${type} needs ${need} registers, got ${words.length}`);
  const taken = words.slice(0, need);
  const ordered = need > 1 && order === 'left' ? taken.reverse() : taken;
  const buf = Buffer.alloc(need * 2);
  ordered.forEach((w, i) => buf.writeUInt16BE(w & 0xffff, i * 2));
  switch (type) {
    case 'MBI':
      return buf.readInt16BE(0);
    case 'MBU':
      return buf.readUInt16BE(0);
    case 'MBL':
      return buf.readInt32BE(0);
    case 'MBUL':
      return buf.readUInt32BE(0);
    case 'MBF':
      return shortestFloat32(buf.readFloatBE(0));
    case 'MBLL':
      return Number(buf.readBigInt64BE(0));
    case 'MBULL':
      return Number(buf.readBigUInt64BE(0));
    case 'MBD':
      return buf.readDoubleBE(0);
  }
}

/**
 * Whether the registers hold SunSpec's "not implemented" value for `type` (SunSpec Information Model: 0x8000 for
 * int16, 0xFFFF for uint16, 0x80000000 for int32, 0xFFFFFFFF for uint32, and the same patterns for 64 bits; NaN for
 * floats, which is never reported anyway). Only meaningful for registers read with a SunSpec scale factor.
 */
export function isSunSpecNotImplemented(words: readonly number[], type: ModbusRegisterType, order: ModbusWordOrder = 'right'): boolean {
  const need = registerCount(type);
  const taken = words.slice(0, need);
  const ordered = need > 1 && order === 'left' ? taken.reverse() : taken;
  const [first, ...rest] = ordered;
  switch (type) {
    case 'MBI':
    case 'MBL':
    case 'MBLL':
      return first === 0x8000 && rest.every((w) => w === 0);
    case 'MBU':
    case 'MBUL':
    case 'MBULL':
      return ordered.every((w) => w === 0xffff);
    default:
      return false;
  }
}

/** SunSpec `sunssf` registers hold a power-of-ten exponent from -10 to 10; 0x8000 means "not implemented". */
export function decodeSunSpecScaleFactor(word: number): number | undefined {
  const sf = (word & 0xffff) >= 0x8000 ? (word & 0xffff) - 0x10000 : word & 0xffff;
  return sf >= -10 && sf <= 10 ? sf : undefined;
}

/**
 * Applies `register_scaling` (and a SunSpec scale factor, as `10^exponent`), removing the binary noise of decimal
 * factors such as 0.1: 15 significant digits, which a double always holds, so a 64-bit Wh counter scaled to kWh
 * keeps its Wh digits (123456789012345 Wh x 0.001 = 123456789012.345 kWh).
 */
export function scaleRegisterValue(raw: number, scaling: number, exponent = 0): number {
  if (scaling === 1 && exponent === 0) return raw;
  const scaled = exponent < 0 ? (raw * scaling) / 10 ** -exponent : raw * scaling * 10 ** exponent;
  return Number(scaled.toPrecision(15));
}

/** What the planner needs to know about a sensor. */
export interface ModbusPlanInput {
  unitId: number;
  category: ModbusRegisterCategory;
  address: number;
  type: ModbusRegisterType;
  /** SunSpec scale factor register read with the value (same unit and category). */
  scaleFactorAddress?: number | undefined;
}

/**
 * The registers one sensor needs read in a single request: its value and, when it has one, its scale factor. A
 * SunSpec device may change the scale factor between two requests (Fronius and SolarEdge do as the power changes),
 * so a value paired with a scale factor read apart could be off by a power of ten.
 */
export function sensorSpan(s: ModbusPlanInput): { start: number; end: number } {
  const end = s.address + registerCount(s.type);
  if (s.scaleFactorAddress === undefined) return { start: s.address, end };
  return { start: Math.min(s.address, s.scaleFactorAddress), end: Math.max(end, s.scaleFactorAddress + 1) };
}

/** One read request: a register range of one unit and category, and the sensors (by index) it serves. */
export interface ModbusReadGroup {
  unitId: number;
  category: ModbusRegisterCategory;
  start: number;
  count: number;
  sensors: number[];
}

/**
 * Groups sensors into read requests: same unit and category, sorted by address, merged while the hole between
 * two values is at most `maxGap` registers and the request stays within `maxCount` registers. A sensor's value and
 * its scale factor always share a request.
 */
export function planReads(
  sensors: readonly ModbusPlanInput[],
  options: { maxGap?: number; maxCount?: number } = {},
): ModbusReadGroup[] {
  const maxGap = options.maxGap ?? 0;
  const maxCount = Math.min(options.maxCount ?? MODBUS_MAX_REGISTERS_PER_READ, MODBUS_MAX_REGISTERS_PER_READ);
  const order = sensors
    .map((s, i) => ({ s, i, span: sensorSpan(s) }))
    .sort((a, b) => a.s.unitId - b.s.unitId || a.s.category.localeCompare(b.s.category) || a.span.start - b.span.start);
  const groups: ModbusReadGroup[] = [];
  let current: ModbusReadGroup | undefined;
  for (const { s, i, span } of order) {
    if (
      current !== undefined &&
      current.unitId === s.unitId &&
      current.category === s.category &&
      span.start - (current.start + current.count) <= maxGap &&
      Math.max(span.end, current.start + current.count) - current.start <= maxCount
    ) {
      current.count = Math.max(span.end, current.start + current.count) - current.start;
      current.sensors.push(i);
      continue;
    }
    current = { unitId: s.unitId, category: s.category, start: span.start, count: span.end - span.start, sensors: [i] };
    groups.push(current);
  }
  return groups;
}

/** Splits `host[:port]` (the original's form) into host and port; `[v6]:port` is accepted too. */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } | undefined {
  const v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] === undefined ? defaultPort : Number(bracketed[2]) };
  const parts = v.split(':');
  if (parts.length === 1) return v === '' ? undefined : { host: v, port: defaultPort };
  if (parts.length === 2 && /^\d+$/.test(parts[1] ?? '') && parts[0] !== '') {
    const port = Number(parts[1]);
    return port >= 1 && port <= 65535 ? { host: parts[0] ?? '', port } : undefined;
  }
  return undefined;
}
