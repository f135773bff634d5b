import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { configBoolean } from '@energyrecorder/core';
import { deviceIdentityKeys, optionalText, requiredSensorUnit } from '../internal/config-fields.js';
import { isNumericOid, normaliseOid } from './decode.js';
import { SNMP_PRESETS, expandPreset, presetSupportsOutlets, type SnmpSensorSpec } from './presets.js';
import {
  lookupAuthProtocol,
  lookupPrivProtocol,
  privProtocolUnavailable,
  type SnmpAuthProtocol,
  type SnmpPrivProtocol,
} from './protocols.js';

/** Defaults of the `snmp` adapter keys, exported for the docs. */
export const DEFAULT_SNMP = Object.freeze({
  port: 161,
  version: 'v2c' as const,
  community: 'public',
  authProtocol: 'HMAC-SHA-96',
  privacyProtocol: 'CFB128-AES-128',
  retries: 1,
  /** Used when neither the device nor the collector gives a timeout, in seconds. */
  timeoutS: 5,
  /** USM needs pass phrases of at least 8 characters (RFC 3414 §11.2). */
  minSecretLength: 8,
});

const oid = z
  .union([z.string(), z.number()])
  .transform((v) => normaliseOid(String(v)))
  .refine(isNumericOid, 'must be a numeric OID such as 1.3.6.1.4.1.318.1.1.26.4.3.1.5.1 (no MIB names)');

/**
 * The agent address: an IPv4 address, a host name (resolved to IPv4) or an IPv6 address, bare or in brackets
 * (`::1`, `[fe80::1]`; brackets removed). `host:port` and URLs are refused: the port has its own key, and the
 * whole string would otherwise be looked up as a host name on every poll.
 */
const host = z
  .string()
  .trim()
  .min(1, 'required: agent address, e.g. "10.0.0.5"')
  .transform((raw, ctx) => {
    const bracketed = /^\[([^\]]+)\]$/.exec(raw)?.[1];
    const v = bracketed ?? raw;
    if (isIPv6(v)) return v;
    const withPort = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d+)$/.exec(raw);
    const message =
      withPort !== null
        ? `"${raw}": give the port in \`port\` (port: ${withPort[3] ?? ''}) and only the address in \`host\` ("${withPort[1] ?? withPort[2] ?? ''}")`
        : /[\s/:[\]@]/.test(raw)
          ? `"${raw}" is not an agent address: give an IPv4 or IPv6 address or a host name (no scheme, port or path)`
          : undefined;
    if (message === undefined) return v;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });

/** Transport of a validated host: `udp6` for IPv6 addresses, `udp4` for the rest. */
export function snmpTransport(hostAddress: string): 'udp4' | 'udp6' {
  return isIPv6(hostAddress) ? 'udp6' : 'udp4';
}

/**
 * One `sensors[]` entry: the original `{name, oid, unit}` plus `scale`, `offset`, `walk`, `sum` and
 * `skip_negative`.
 */
export const snmpSensorSchema = z
  .object({
    name: z.union([z.string().min(1), z.number()]).transform(String),
    oid,
    // Only text answers `on`/`off`/`true`/`false` get a unit of their own (`boolean`); numbers are reported with this one.
    unit: requiredSensorUnit,
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    walk: configBoolean().default(false),
    /** With `walk`: one reading, the sum of the rows (a three-phase UPS's upsOutputPower lines). */
    sum: configBoolean().default(false),
    /** A negative raw value means "not available" (ServerTech, Eaton PDUs answer -1): skip it. */
    skip_negative: configBoolean().default(false),
  })
  .superRefine((s, ctx) => {
    if (s.sum && !s.walk) ctx.addIssue({ code: 'custom', path: ['sum'], message: 'needs walk: true (it adds the rows of a walk)' });
  });

/** Keys of an `snmp` device entry. v3 keys are only required with `version: v3`. */
export const snmpConfigSchema = z
  .looseObject({
    ...deviceIdentityKeys,
    host,
    port: z.coerce.number().int().min(1).max(65535).default(DEFAULT_SNMP.port),
    /** `v2` is accepted for compatibility and now means real SNMPv2c (the original sent v1). */
    version: z
      .union([z.enum(['v1', 'v2', 'v2c', 'v3', '1', '2', '2c', '3']), z.literal(1), z.literal(2), z.literal(3)])
      .default(DEFAULT_SNMP.version)
      .transform((v): 'v1' | 'v2c' | 'v3' => {
        const s = String(v).replace(/^v/, '');
        return s === '1' ? 'v1' : s === '3' ? 'v3' : 'v2c';
      }),
    community: z.union([z.string(), z.number()]).transform(String).default(DEFAULT_SNMP.community),
    username: optionalText,
    auth_protocole: optionalText,
    auth_secret: optionalText,
    privacy_protocole: optionalText,
    privacy_secret: optionalText,
    /** Per-request timeout in seconds. */
    timeout: z.number().positive().optional(),
    retries: z.number().int().min(0).max(10).default(DEFAULT_SNMP.retries),
    sensors: z.array(snmpSensorSchema).nullable().optional().transform((v) => v ?? []),
    preset: z.enum(SNMP_PRESETS).optional(),
    pdu: z.number().int().min(0).optional(),
    inlet: z.number().int().min(1).optional(),
    outlets: z.array(z.number().int().min(1)).optional(),
    power_index: z.number().int().min(1).optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.preset === undefined && cfg.sensors.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['sensors'], message: 'give at least one sensor, or a preset' });
    }
    if (cfg.preset !== undefined && cfg.outlets !== undefined && cfg.outlets.length > 0 && !presetSupportsOutlets(cfg.preset)) {
      ctx.addIssue({ code: 'custom', path: ['outlets'], message: `preset ${cfg.preset} has no per-outlet readings` });
    }
    if (cfg.version !== 'v3') return;
    if (cfg.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'required for SNMPv3' });
    const auth = lookupAuthProtocol(cfg.auth_protocole ?? DEFAULT_SNMP.authProtocol);
    if (!auth.ok) ctx.addIssue({ code: 'custom', path: ['auth_protocole'], message: auth.message });
    const priv = lookupPrivProtocol(cfg.privacy_protocole ?? DEFAULT_SNMP.privacyProtocol);
    if (!priv.ok) ctx.addIssue({ code: 'custom', path: ['privacy_protocole'], message: priv.message });
    const unavailable = priv.ok ? privProtocolUnavailable(priv.protocol) : undefined;
    if (unavailable !== undefined) ctx.addIssue({ code: 'custom', path: ['privacy_protocole'], message: unavailable });
    const authOn = auth.ok && auth.protocol !== 'none';
    const privOn = priv.ok && priv.protocol !== 'none';
    if (privOn && !authOn) {
      ctx.addIssue({ code: 'custom', path: ['privacy_protocole'], message: 'privacy needs an authentication protocol' });
    }
    const checkSecret = (key: 'auth_secret' | 'privacy_secret', on: boolean): void => {
      if (!on) return;
      const secret = cfg[key];
      if (secret === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required for this SNMPv3 security level' });
      else if (secret.length < DEFAULT_SNMP.minSecretLength) {
        ctx.addIssue({ code: 'custom', path: [key], message: `must have at least ${DEFAULT_SNMP.minSecretLength} characters` });
      }
    };
    checkSecret('auth_secret', authOn);
    checkSecret('privacy_secret', privOn);
  });

/** A validated `snmp` device entry. */
export type SnmpConfig = z.output<typeof snmpConfigSchema>;

/** SNMPv3 user settings resolved from the original's keys. */
export interface SnmpV3User {
  name: string;
  authProtocol: SnmpAuthProtocol;
  authKey: string | undefined;
  privProtocol: SnmpPrivProtocol;
  privKey: string | undefined;
}

/** The v3 user of a validated config (only meaningful with `version: v3`). */
export function resolveV3User(cfg: SnmpConfig): SnmpV3User {
  const auth = lookupAuthProtocol(cfg.auth_protocole ?? DEFAULT_SNMP.authProtocol);
  const priv = lookupPrivProtocol(cfg.privacy_protocole ?? DEFAULT_SNMP.privacyProtocol);
  // The schema refused unknown names, so both lookups succeed here.
  const authProtocol = auth.ok ? auth.protocol : 'none';
  const privProtocol = priv.ok && authProtocol !== 'none' ? priv.protocol : 'none';
  return {
    name: cfg.username ?? '',
    authProtocol,
    authKey: authProtocol === 'none' ? undefined : cfg.auth_secret,
    privProtocol,
    privKey: privProtocol === 'none' ? undefined : cfg.privacy_secret,
  };
}

/** Every sensor to read: the preset's first, then the hand-written ones. */
export function resolveSnmpSensors(cfg: SnmpConfig): SnmpSensorSpec[] {
  const fromPreset =
    cfg.preset === undefined
      ? []
      : expandPreset(cfg.preset, { pdu: cfg.pdu, inlet: cfg.inlet, outlets: cfg.outlets, powerIndex: cfg.power_index });
  return [
    ...fromPreset,
    ...cfg.sensors.map(({ skip_negative, sum, ...s }): SnmpSensorSpec => ({
      ...s,
      ...(skip_negative ? { skipNegative: true } : {}),
      ...(sum ? { sum: true } : {}),
    })),
  ];
}
