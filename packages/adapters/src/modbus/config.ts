import { z } from 'zod';
import { deviceIdentityKeys, requiredSensorUnit } from '../internal/config-fields.js';
import { MODBUS_MAX_REGISTERS_PER_READ, MODBUS_REGISTER_TYPES, parseHostPort, registerCount } from './decode.js';

/** Defaults of the `modbus` adapter keys, exported for the docs. */
export const DEFAULT_MODBUS = Object.freeze({
  port: 502,
  framer: 'SOCKET' as const,
  registerCategory: 'holding' as const,
  registerOrder: 'right' as const,
  registerScaling: 1,
  /** Unit id (slave id) used when a sensor has no `device_unit`. */
  unitId: 1,
  /** Registers of unused space allowed inside one merged read. */
  maxGap: 8,
  /** Used when neither the device nor the collector gives a timeout, in seconds. */
  timeoutS: 3,
});

const upper = (v: unknown): unknown => (typeof v === 'string' ? v.trim().toUpperCase() : v);
const lower = (v: unknown): unknown => (typeof v === 'string' ? v.trim().toLowerCase() : v);

/** One `sensors[]` entry, with the original's key names (and `scale_factor_address`). */
export const modbusSensorSchema = z
  .object({
    name: z.union([z.string().min(1), z.number()]).transform(String),
    unit: requiredSensorUnit,
    register_category: z.preprocess(lower, z.enum(['holding', 'input'])).default(DEFAULT_MODBUS.registerCategory),
    register_address: z.number().int().min(0).max(65535),
    register_type: z.preprocess(upper, z.enum(MODBUS_REGISTER_TYPES)),
    register_order: z.preprocess(lower, z.enum(['right', 'left'])).default(DEFAULT_MODBUS.registerOrder),
    register_scaling: z.number().finite().default(DEFAULT_MODBUS.registerScaling),
    /** Modbus unit id (slave id); `DEFAULT_MODBUS.unitId` when absent. */
    device_unit: z.number().int().min(0).max(255).optional(),
    /**
     * SunSpec `sunssf` register (same unit and category) holding a power-of-ten exponent for the value, read in the
     * same request as the value: value = raw x 10^sf x register_scaling.
     */
    scale_factor_address: z.number().int().min(0).max(65535).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.scale_factor_address === undefined) return;
    const start = Math.min(s.register_address, s.scale_factor_address);
    const end = Math.max(s.register_address + registerCount(s.register_type), s.scale_factor_address + 1);
    if (end - start > MODBUS_MAX_REGISTERS_PER_READ) {
      ctx.addIssue({
        code: 'custom',
        path: ['scale_factor_address'],
        message: `must be within ${MODBUS_MAX_REGISTERS_PER_READ} registers of the value, so that both are read in one request`,
      });
    }
  });

/** Keys of a `modbus` device entry. */
export const modbusConfigSchema = z
  .looseObject({
    ...deviceIdentityKeys,
    /** `ip[:port]`, port 502 by default. */
    host: z.string().trim().min(1, 'required: "ip[:port]", e.g. "10.0.0.7:502"'),
    /** `SOCKET` (Modbus TCP, MBAP header) or `RTU` (RTU frames over TCP, as serial gateways speak). */
    framer: z.preprocess(upper, z.enum(['SOCKET', 'RTU'])).default(DEFAULT_MODBUS.framer),
    /** Per-request timeout in seconds. */
    timeout: z.number().positive().optional(),
    max_gap: z.number().int().min(0).max(124).default(DEFAULT_MODBUS.maxGap),
    sensors: z.array(modbusSensorSchema).min(1, 'give at least one sensor'),
  })
  .transform((cfg, ctx) => {
    const hp = parseHostPort(cfg.host, DEFAULT_MODBUS.port);
    if (hp === undefined) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'must be "ip[:port]" with a port from 1 to 65535' });
      return z.NEVER;
    }
    return { ...cfg, address: hp.host, port: hp.port };
  });

/** A validated `modbus` device entry (`address` and `port` split from `host`). */
export type ModbusConfig = z.output<typeof modbusConfigSchema>;
/** One validated sensor. */
export type ModbusSensorConfig = z.output<typeof modbusSensorSchema>;
