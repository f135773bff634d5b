/**
 * Pure Modbus helpers: register types of the original collector, word order, and the read plan that fetches
 * all sensors of a device in as few requests as the register layout allows.
 */

import { shortestFloat32 } from '../internal/float32.js';

/** The original's register types: int16, uint16, int32, uint32, float32. */
export const MODBUS_REGISTER_TYPES = ['MBI', 'MBU', 'MBL', 'MBUL', 'MBF'] as const;
/** One of {@link MODBUS_REGISTER_TYPES}. */
export type ModbusRegisterType = (typeof MODBUS_REGISTER_TYPES)[number];
/** `right`: first register is the most significant word (big-endian); `left`: word-swapped. */
export type ModbusWordOrder = 'right' | 'left';
/** Holding registers (function 3) or input registers (function 4). */
export type ModbusRegisterCategory = 'holding' | 'input';

/** The protocol's limit on registers per read request (Modbus Application Protocol v1.1b3 §6.3). */
export const MODBUS_MAX_REGISTERS_PER_READ = 125;

/** Registers a value of `type` occupies. */
export function registerCount(type: ModbusRegisterType): 1 | 2 {
  return type === 'MBI' || type === 'MBU' ? 1 : 2;
}

/**
 * Decodes the registers of one value. `words` holds 16-bit unsigned register values as read; a float32 value
 * comes out as the shortest decimal that is the same float32 (see {@link shortestFloat32}), so 230.1 does not
 * come out as 230.10000610351562 and 16777215 stays 16777215.
 */
export function decodeRegisters(words: readonly number[], type: ModbusRegisterType, order: ModbusWordOrder = 'right'): number {
  const need = registerCount(type);
  if (words.length < need) throw new RangeError(`${type} needs ${need} registers, got ${words.length}`);
  const ordered = need === 2 && order === 'left' ? [words[1] ?? 0, words[0] ?? 0] : words.slice(0, need);
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
    case 'MBF': {
      const f = buf.readFloatBE(0);
      return shortestFloat32(f);
    }
  }
}

/** Applies `register_scaling`, removing the binary noise of decimal factors such as 0.1. */
export function scaleRegisterValue(raw: number, scaling: number): number {
  return scaling === 1 ? raw : Number((raw * scaling).toPrecision(12));
}

/** What the planner needs to know about a sensor. */
export interface ModbusPlanInput {
  unitId: number;
  category: ModbusRegisterCategory;
  address: number;
  type: ModbusRegisterType;
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
 * two values is at most `maxGap` registers and the request stays within `maxCount` registers.
 */
export function planReads(
  sensors: readonly ModbusPlanInput[],
  options: { maxGap?: number; maxCount?: number } = {},
): ModbusReadGroup[] {
  const maxGap = options.maxGap ?? 0;
  const maxCount = Math.min(options.maxCount ?? MODBUS_MAX_REGISTERS_PER_READ, MODBUS_MAX_REGISTERS_PER_READ);
  const order = sensors
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.unitId - b.s.unitId || a.s.category.localeCompare(b.s.category) || a.s.address - b.s.address);
  const groups: ModbusReadGroup[] = [];
  let current: ModbusReadGroup | undefined;
  for (const { s, i } of order) {
    const end = s.address + registerCount(s.type);
    if (
      current !== undefined &&
      current.unitId === s.unitId &&
      current.category === s.category &&
      s.address - (current.start + current.count) <= maxGap &&
      Math.max(end, current.start + current.count) - current.start <= maxCount
    ) {
      current.count = Math.max(end, current.start + current.count) - current.start;
      current.sensors.push(i);
      continue;
    }
    current = { unitId: s.unitId, category: s.category, start: s.address, count: end - s.address, sensors: [i] };
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
