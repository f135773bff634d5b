import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { modbusAdapterDefinition } from '../../src/modbus/adapter.js';
import { modbusConfigSchema } from '../../src/modbus/config.js';
import {
  decodeRegisters,
  decodeSunSpecScaleFactor,
  isSunSpecNotImplemented,
  parseHostPort,
  planReads,
  registerCount,
  scaleRegisterValue,
} from '../../src/modbus/decode.js';

describe('modbus register decoding', () => {
  it('decodes 16-bit signed and unsigned registers', () => {
    expect(decodeRegisters([0xffff], 'MBI')).toBe(-1);
    expect(decodeRegisters([0xffff], 'MBU')).toBe(65535);
    expect(decodeRegisters([0x7fff], 'MBI')).toBe(32767);
  });

  it('puts the most significant word first when the order is right', () => {
    expect(decodeRegisters([0x0001, 0x0002], 'MBUL', 'right')).toBe(65538);
    expect(decodeRegisters([0xffff, 0xfffe], 'MBL', 'right')).toBe(-2);
  });

  it('swaps the words when the order is left', () => {
    expect(decodeRegisters([0x0002, 0x0001], 'MBUL', 'left')).toBe(65538);
    expect(decodeRegisters([0xfffe, 0xffff], 'MBL', 'left')).toBe(-2);
  });

  it('decodes IEEE float32 as the shortest decimal of the same float32', () => {
    // 230.1 as float32 = 0x4366199a; 0x43661999 is the float32 just below it.
    expect(decodeRegisters([0x4366, 0x199a], 'MBF')).toBe(230.1);
    expect(decodeRegisters([0x199a, 0x4366], 'MBF', 'left')).toBe(230.1);
    expect(decodeRegisters([0x4366, 0x1999], 'MBF')).toBe(230.09999);
    expect(decodeRegisters([0x7fc0, 0x0000], 'MBF')).toBeNaN();
    expect(decodeRegisters([0x7f80, 0x0000], 'MBF')).toBe(Infinity);
  });

  it('keeps every digit float32 holds, beyond 7 significant digits', () => {
    const words = (x: number): number[] => {
      const b = Buffer.alloc(4);
      b.writeFloatBE(x);
      return [b.readUInt16BE(0), b.readUInt16BE(2)];
    };
    // Integers up to 2^24 are exact in float32, and so are larger ones float32 holds (even ones to 2^25, multiples
    // of 4 to 2^26, ...); 40000008 shares its float32 with the shorter 40000010.
    for (const x of [12345678, 16777215, 16777216, 12345671, 12345672, 12345673, 33554430, 40000008, 4294967296, -16777215]) {
      expect(decodeRegisters(words(x), 'MBF')).toBe(x);
    }
    for (const x of [0.1, 49.98, 230.1, -1.5e-7, 3.4e38, 1e-45, 1234567.5, 12345678.9]) {
      expect(Math.fround(decodeRegisters(words(x), 'MBF'))).toBe(Math.fround(x));
    }
    expect(decodeRegisters(words(12345678.9), 'MBF')).toBe(12345679);
    expect(decodeRegisters(words(1234567.5), 'MBF')).toBe(1234567.5);
    expect(decodeRegisters(words(0.1), 'MBF')).toBe(0.1);
    expect(decodeRegisters(words(3.4e38), 'MBF')).toBe(3.4e38);
    expect(decodeRegisters(words(1e-45), 'MBF')).toBe(1e-45);
    expect(decodeRegisters(words(-1.5e-7), 'MBF')).toBe(-1.5e-7);
  });

  it('throws when a 32-bit value gets one register', () => {
    expect(() => decodeRegisters([1], 'MBL')).toThrow(RangeError);
  });

  it('scales without binary noise', () => {
    expect(scaleRegisterValue(2301, 0.1)).toBe(230.1);
    expect(scaleRegisterValue(7, 1)).toBe(7);
    expect(registerCount('MBF')).toBe(2);
  });

  it('decodes 64-bit registers (Schneider PM5xxx INT64 Wh energy) in either word order', () => {
    // 123456789012345 = 0x0000_7048_860D_DF79
    expect(decodeRegisters([0x0000, 0x7048, 0x860d, 0xdf79], 'MBLL')).toBe(123456789012345);
    expect(decodeRegisters([0xdf79, 0x860d, 0x7048, 0x0000], 'MBLL', 'left')).toBe(123456789012345);
    expect(decodeRegisters([0xffff, 0xffff, 0xffff, 0xfffe], 'MBLL')).toBe(-2);
    expect(decodeRegisters([0xffff, 0xffff, 0xffff, 0xfffe], 'MBULL')).toBe(18446744073709552000);
    // 230.1 as float64 = 0x406C_C333_3333_3333
    expect(decodeRegisters([0x406c, 0xc333, 0x3333, 0x3333], 'MBD')).toBe(230.1);
    expect(registerCount('MBLL')).toBe(4);
    expect(() => decodeRegisters([1, 2, 3], 'MBD')).toThrow(RangeError);
  });

  it('keeps the Wh digits of a 64-bit counter scaled to kWh', () => {
    expect(scaleRegisterValue(123456789012345, 0.001)).toBe(123456789012.345);
    expect(scaleRegisterValue(4000000001, 0.1)).toBe(400000000.1);
  });

  it('applies a SunSpec scale factor as a power of ten', () => {
    expect(scaleRegisterValue(12345, 1, -2)).toBe(123.45);
    expect(scaleRegisterValue(1234567, 1, 1)).toBe(12345670);
    expect(scaleRegisterValue(12345, 0.001, -1)).toBe(1.2345);
    expect(decodeSunSpecScaleFactor(0xfffe)).toBe(-2);
    expect(decodeSunSpecScaleFactor(3)).toBe(3);
    expect(decodeSunSpecScaleFactor(0x8000)).toBeUndefined();
    expect(isSunSpecNotImplemented([0x8000], 'MBI')).toBe(true);
    expect(isSunSpecNotImplemented([0xffff], 'MBU')).toBe(true);
    expect(isSunSpecNotImplemented([0x8000, 0x0000], 'MBL')).toBe(true);
    expect(isSunSpecNotImplemented([0x0000, 0x8000], 'MBL', 'left')).toBe(true);
    expect(isSunSpecNotImplemented([0xffff, 0xffff], 'MBUL')).toBe(true);
    expect(isSunSpecNotImplemented([0x7fff], 'MBI')).toBe(false);
    expect(isSunSpecNotImplemented([0x8000, 0x0001], 'MBL')).toBe(false);
  });
});

describe('modbus read plan', () => {
  const s = (address: number, type: 'MBU' | 'MBF' = 'MBU', category: 'holding' | 'input' = 'holding', unitId = 1) => ({
    address,
    type,
    category,
    unitId,
  });

  it('merges contiguous registers into one request', () => {
    expect(planReads([s(2, 'MBF'), s(0), s(1)])).toEqual([{ unitId: 1, category: 'holding', start: 0, count: 4, sensors: [1, 2, 0] }]);
  });

  it('merges across a hole up to maxGap registers and not beyond', () => {
    expect(planReads([s(0), s(5)], { maxGap: 4 })).toHaveLength(1);
    expect(planReads([s(0), s(6)], { maxGap: 4 })).toHaveLength(2);
  });

  it('never merges across units or categories', () => {
    expect(planReads([s(0), s(1, 'MBU', 'input'), s(2, 'MBU', 'holding', 2)], { maxGap: 10 })).toHaveLength(3);
  });

  it('keeps every request within 125 registers', () => {
    const sensors = Array.from({ length: 200 }, (_, i) => s(i));
    const groups = planReads(sensors, { maxGap: 10 });
    expect(groups.map((g) => [g.start, g.count])).toEqual([
      [0, 125],
      [125, 75],
    ]);
  });

  it('reads a value and its SunSpec scale factor in one request even without merging', () => {
    const groups = planReads(
      [
        { ...s(40206, 'MBU'), scaleFactorAddress: 40210 },
        { ...s(40234, 'MBF'), scaleFactorAddress: 40242 },
        s(40300),
      ],
      { maxGap: 0 },
    );
    expect(groups.map((g) => [g.start, g.count, g.sensors])).toEqual([
      [40206, 5, [0]],
      [40234, 9, [1]],
      [40300, 1, [2]],
    ]);
    // A scale factor before its value counts too.
    expect(planReads([{ ...s(10), scaleFactorAddress: 4 }]).map((g) => [g.start, g.count])).toEqual([[4, 7]]);
  });

  it('does not split a float32 across two requests at the 125 limit', () => {
    const groups = planReads([s(0), s(124, 'MBF')], { maxGap: 200 });
    expect(groups.map((g) => [g.start, g.count])).toEqual([
      [0, 1],
      [124, 2],
    ]);
  });
});

describe('modbus config', () => {
  it('splits host and port, defaulting to 502', () => {
    expect(parseHostPort('10.0.0.7', 502)).toEqual({ host: '10.0.0.7', port: 502 });
    expect(parseHostPort('10.0.0.7:1502', 502)).toEqual({ host: '10.0.0.7', port: 1502 });
    expect(parseHostPort('[fe80::1]:5020', 502)).toEqual({ host: 'fe80::1', port: 5020 });
    expect(parseHostPort('a:b:c', 502)).toBeUndefined();
    expect(parseHostPort('h:70000', 502)).toBeUndefined();
  });

  it('accepts the original keys with their defaults when parsed', () => {
    const cfg = modbusConfigSchema.parse({
      id: 'm',
      type: 'modbus',
      host: '10.0.0.7',
      framer: 'rtu',
      sensors: [{ name: 'p', unit: 'W', register_address: 3, register_type: 'mbf' }],
    });
    expect(cfg).toMatchObject({ address: '10.0.0.7', port: 502, framer: 'RTU' });
    expect(cfg.sensors[0]).toMatchObject({ register_category: 'holding', register_order: 'right', register_scaling: 1, register_type: 'MBF' });
  });

  it('accepts the 64-bit types and a scale factor register near its value', () => {
    const cfg = modbusConfigSchema.parse({
      host: '10.0.0.7',
      sensors: [
        { name: 'e', unit: 'Wh', register_address: 3203, register_type: 'mbll' },
        { name: 'u', unit: 'Wh', register_address: 10, register_type: 'MBULL' },
        { name: 'd', unit: 'W', register_address: 20, register_type: 'MBD' },
        { name: 'w', unit: 'W', register_address: 40206, register_type: 'MBI', scale_factor_address: 40210 },
      ],
    });
    expect(cfg.sensors.map((x) => x.register_type)).toEqual(['MBLL', 'MBULL', 'MBD', 'MBI']);
    expect(cfg.sensors[3]?.scale_factor_address).toBe(40210);
    const far = modbusConfigSchema.safeParse({
      host: '10.0.0.7',
      sensors: [{ name: 'w', unit: 'W', register_address: 40206, register_type: 'MBI', scale_factor_address: 40400 }],
    });
    expect(far.success ? [] : far.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'sensors.0.scale_factor_address: must be within 125 registers of the value, so that both are read in one request',
    ]);
  });

  it('refuses a sensor without a unit, naming its path, when the entry is checked', () => {
    const registry = createAdapterRegistry([modbusAdapterDefinition]);
    const issues = (sensors: unknown[]): string[] => {
      try {
        registry.parse({ type: 'modbus', host: '10.0.0.7', sensors }, 'PODS.0.servers.1');
      } catch (err) {
        if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
        throw err;
      }
      return [];
    };
    const p = { name: 'p', unit: 'W', register_address: 3, register_type: 'MBF' };
    const { unit: _unit, ...noUnit } = p;
    // Registers carry no unit, and the API refuses a reading with an empty one: every reading would be dropped.
    expect(issues([p, p, noUnit, { ...p, unit: '' }, { ...p, unit: null }])).toEqual([
      'PODS.0.servers.1.sensors.2.unit: required: the unit of the readings, e.g. "W"',
      'PODS.0.servers.1.sensors.3.unit: required: the unit of the readings, e.g. "W"',
      'PODS.0.servers.1.sensors.4.unit: required: the unit of the readings, e.g. "W"',
    ]);
    expect(issues([{ ...p, unit: 'k\nW' }])).toEqual([
      'PODS.0.servers.1.sensors.0.unit: must not contain control characters (newline, tab, ...), non-characters or lone surrogates',
    ]);
    expect(issues([p])).toEqual([]);
  });

  it('names the offending keys when the entry is invalid', () => {
    const r = modbusConfigSchema.safeParse({
      host: '10.0.0.7:0',
      sensors: [{ name: 'p', register_address: -1, register_type: 'MBX', register_category: 'coil' }],
    });
    expect(r.success).toBe(false);
    const paths = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['sensors.0.register_address', 'sensors.0.register_type', 'sensors.0.register_category']),
    );
  });
});
