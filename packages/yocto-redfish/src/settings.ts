import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, configBoolean, parseConfig, parseSettingsYaml, unknownConfigKeys, type ConfigIssue, type Logger } from '@energyrecorder/core';
import { parseProfile } from './profile.js';
import type { ServedMeter } from './redfish-service.js';
import { SimulatedMeter } from './simulated-meter.js';
import { YokotoolMeter } from './yokotool-meter.js';
import { YokogawaMeter } from './yokogawa-meter.js';
import { YoctopuceMeter } from './yoctopuce-meter.js';
import type { UsbOpener } from './usb-transport.js';

/** Defaults of `webapp-settings.yaml`, exported for the docs. */
export const DEFAULT_YOCTO_REDFISH_SETTINGS = Object.freeze({
  /** The original's sample said `0.0.0.0:8889`; loopback is the safer default when the key is absent. */
  bind: '127.0.0.1:8889',
  /** Where the original's Docker image cloned yoko-tool. */
  yokotoolPath: '/usr/local/yoko-tool',
  pollIntervalMs: 1000,
  metricsIntervalMin: 1,
  sessionTimeoutS: 1800,
  maxSessions: 64,
  yokotoolTimeoutMs: 10_000,
  usbTimeoutMs: 2000,
  hubTimeoutMs: 5000,
});

const id = z.union([z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"'), z.number().int()]).transform(String);
const common = {
  id: id.optional(),
  name: z.string().min(1).optional(),
  timeout_ms: z.number().int().positive().optional(),
};

const yokotoolEntry = z.object({
  driver: z.literal('yokotool'),
  ...common,
  dev: z.string().min(1),
  pmtype: z.string().regex(/^wt\d{3}$/i, 'a yokotool power meter type such as wt310 or wt210'),
});
const usbId = z.union([z.number().int().min(0).max(0xffff), z.string().regex(/^0x[0-9a-f]{1,4}$/i).transform((s) => Number.parseInt(s, 16))]);
const yokogawaEntry = z.object({
  driver: z.literal('yokogawa'),
  ...common,
  serial: z.string().min(1).optional(),
  vendor_id: usbId.optional(),
  product_id: usbId.optional(),
});
const yoctopuceEntry = z.object({
  driver: z.literal('yoctopuce'),
  ...common,
  serial: z.string().min(1).optional(),
  hub_url: z.url({ protocol: /^https?$/ }).optional(),
  user: z.string().optional(),
  pass: z.string().optional(),
  read_electrical: configBoolean().default(false),
});
const simulatedEntry = z.object({
  driver: z.literal('simulated'),
  ...common,
  profile: z.string().superRefine((p, ctx) => {
    try {
      parseProfile(p, () => '0,0');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  }),
  serial: z.string().min(1).optional(),
});

/** One `POWERMETERS[]` entry. Without `driver` it is the original's `{dev, pmtype}` run through yokotool. */
export const meterEntrySchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !('driver' in v) ? { ...v, driver: 'yokotool' } : v),
  z.discriminatedUnion('driver', [yokotoolEntry, yokogawaEntry, yoctopuceEntry, simulatedEntry]),
);

/** The whole yocto-redfish `webapp-settings.yaml`. The original yoko2redfish files load unchanged. */
export const yoctoRedfishSettingsSchema = z
  .object({
    BIND: z
      .string()
      .regex(/^[^\s]*:\d{1,5}$/, 'expected "host:port"')
      .refine((b) => !/:\d{1,5}$/.test(b) || Number(b.slice(b.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0..65535')
      .default(DEFAULT_YOCTO_REDFISH_SETTINGS.bind),
    YOKOTOOL_PATH: z.string().min(1).default(DEFAULT_YOCTO_REDFISH_SETTINGS.yokotoolPath),
    POWERMETERS: z.array(meterEntrySchema).min(1, 'at least one power meter'),
    SUM_CHASSIS: configBoolean().default(false),
    POLL_INTERVAL_MS: z.number().int().min(50).default(DEFAULT_YOCTO_REDFISH_SETTINGS.pollIntervalMs),
    METRICS_INTERVAL_MIN: z.number().int().min(1).default(DEFAULT_YOCTO_REDFISH_SETTINGS.metricsIntervalMin),
    AUTH: z
      .object({
        users: z.array(z.object({ name: z.string().min(1), password: z.string().min(8, 'at least 8 characters') })).min(1),
        // Served as SessionService.SessionTimeout, which the DMTF schema bounds to 30..86400 s.
        session_timeout_s: z.number().int().min(30).max(86_400).default(DEFAULT_YOCTO_REDFISH_SETTINGS.sessionTimeoutS),
        max_sessions: z.number().int().positive().default(DEFAULT_YOCTO_REDFISH_SETTINGS.maxSessions),
      })
      .optional(),
    TLS: z.object({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
    LOG: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
        file: z.string().min(1).optional(),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.POWERMETERS.forEach((m, i) => {
      const key = m.id ?? String(i + 1);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['POWERMETERS', i, 'id'], message: `duplicate id "${key}"` });
      seen.add(key);
      if (m.driver === 'yoctopuce' && m.hub_url !== undefined && m.serial === undefined) {
        ctx.addIssue({ code: 'custom', path: ['POWERMETERS', i, 'serial'], message: 'required with hub_url' });
      }
      if (m.driver === 'yoctopuce' && m.hub_url !== undefined && /^[a-z]+:\/\/[^/?#]*@/i.test(m.hub_url) && (m.user !== undefined || m.pass !== undefined)) {
        // Never quote the URL here: it holds a password.
        ctx.addIssue({
          code: 'custom',
          path: ['POWERMETERS', i, 'hub_url'],
          message: 'has credentials (user:pass@) and user/pass are set too: keep the credentials in user and pass only',
        });
      }
    });
  });

export type YoctoRedfishSettings = z.output<typeof yoctoRedfishSettingsSchema>;
export type MeterEntry = z.output<typeof meterEntrySchema>;

const METER_ENTRY_KEYS: Readonly<Record<string, readonly string[]>> = {
  yokotool: Object.keys(yokotoolEntry.shape),
  yokogawa: Object.keys(yokogawaEntry.shape),
  yoctopuce: Object.keys(yoctopuceEntry.shape),
  simulated: Object.keys(simulatedEntry.shape),
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Keys of a settings object that no schema knows, as paths (`SUM_CHASIS`, `POWERMETERS[0].password`). They are
 * ignored, as the original did, but a typo silently keeps a default, so the CLI warns about each. A meter entry
 * is checked against the keys of its own driver (`dev` means nothing to the `yokogawa` driver).
 */
export function unknownSettingsKeys(input: unknown): string[] {
  const out = unknownConfigKeys(yoctoRedfishSettingsSchema, input);
  if (!isRecord(input) || !Array.isArray(input['POWERMETERS'])) return out;
  input['POWERMETERS'].forEach((entry: unknown, i) => {
    if (!isRecord(entry)) return;
    const keys = METER_ENTRY_KEYS[typeof entry['driver'] === 'string' ? entry['driver'] : 'yokotool'];
    if (keys === undefined) return; // an unknown driver is a validation error of its own
    for (const key of Object.keys(entry)) if (!keys.includes(key)) out.push(`POWERMETERS[${i}].${key}`);
  });
  return out;
}

const SECTION_CONSEQUENCE: Readonly<Record<string, string>> = {
  AUTH: 'authentication would be off',
  TLS: 'the service would serve plain HTTP',
};

/**
 * Top-level keys that differ from a known key by case only (`auth`, `Tls`, `bind`). Keys are case-sensitive, so
 * such a key would be ignored, and for `AUTH` or `TLS` the service would silently start without authentication
 * or without TLS: this is an error, not a warning.
 */
function misCasedKeyIssues(input: unknown): ConfigIssue[] {
  if (!isRecord(input)) return [];
  const known = Object.keys(yoctoRedfishSettingsSchema.shape);
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(input)) {
    if (known.includes(key)) continue;
    const meant = known.find((k) => k.toLowerCase() === key.toLowerCase());
    if (meant === undefined) continue;
    const consequence = SECTION_CONSEQUENCE[meant];
    issues.push({
      path: key,
      message: `unknown key: keys are case-sensitive, write ${meant}${consequence === undefined ? '' : ` (as written it would be ignored and ${consequence})`}`,
    });
  }
  return issues;
}

/** Options of {@link parseSettings} and {@link readSettingsFile}. */
export interface ParseSettingsOptions {
  /**
   * Also check the files the settings name (see {@link settingsFileIssues}), and list their problems with the
   * others. Default false: parsing alone does no I/O.
   */
  checkFiles?: boolean;
  /** Reads a `csv:` replay file (injectable for tests). */
  readFile?: (path: string) => string;
}

/**
 * Validates a settings object; throws `ConfigError` listing every problem as `path: message`. A top-level key
 * that differs from a known one by case only (`auth:` for `AUTH:`) is one of these problems, and so, with
 * `checkFiles`, is every named file that cannot be read, whether or not the rest of the settings is valid.
 */
export function parseSettings(input: unknown, source?: string, options: ParseSettingsOptions = {}): YoctoRedfishSettings {
  const early = misCasedKeyIssues(input);
  // Checked on the raw input, so that a schema error elsewhere does not hide a missing file.
  const files = options.checkFiles === true ? settingsFileIssues(input, options.readFile) : [];
  const where = source === undefined ? {} : { source };
  let settings: YoctoRedfishSettings;
  try {
    settings = parseConfig(yoctoRedfishSettingsSchema, input, source);
  } catch (err) {
    if (err instanceof ConfigError && early.length + files.length > 0) throw new ConfigError([...early, ...err.issues, ...files], where);
    throw err;
  }
  if (early.length + files.length > 0) throw new ConfigError([...early, ...files], where);
  return settings;
}

/** A validated settings file, with the keys it holds that no schema knows (see {@link unknownSettingsKeys}). */
export interface LoadedSettings {
  settings: YoctoRedfishSettings;
  unknownKeys: string[];
  /** Keys written twice in one mapping (the last value is used, as PyYAML did) and the YAML parser's warnings. */
  warnings: string[];
}

/** Reads and validates a YAML settings file (and with `checkFiles` the files it names), and lists its unknown keys. */
export function readSettingsFile(path: string, options: ParseSettingsOptions = {}): LoadedSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(err as Error).message}` }], { source: path, cause: err });
  }
  let doc: { value: unknown; warnings: string[] };
  try {
    doc = parseSettingsYaml(text, YAML);
  } catch (err) {
    throw new ConfigError([{ path: '', message: `YAML: ${(err as Error).message}` }], { source: path, cause: err });
  }
  const input = doc.value ?? {};
  return { settings: parseSettings(input, path, options), unknownKeys: unknownSettingsKeys(input), warnings: doc.warnings };
}

/** Reads and validates a YAML settings file. */
export function loadSettingsFile(path: string): YoctoRedfishSettings {
  return readSettingsFile(path).settings;
}

const readUtf8 = (path: string): string => readFileSync(path, 'utf8');

/**
 * Problems with the files the settings name (TLS certificate and key, `csv:` replay profiles of simulated meters),
 * as `path: message`. Works on a raw settings object as well as a validated one: each file whose key parsed as a
 * path is checked, so these problems can be listed with the schema's. A key the schema refuses (a number, an
 * empty path, an unknown driver) is left to the schema's own message.
 */
export function settingsFileIssues(input: unknown, readFile: (path: string) => string = readUtf8): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isRecord(input)) return issues;
  const tls = input['TLS'];
  if (isRecord(tls)) {
    for (const key of ['cert_file', 'key_file'] as const) {
      const file = tls[key];
      if (typeof file !== 'string' || file === '') continue;
      try {
        accessSync(file, fsConstants.R_OK);
      } catch (err) {
        issues.push({ path: `TLS.${key}`, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
      }
    }
  }
  const meters = input['POWERMETERS'];
  if (!Array.isArray(meters)) return issues;
  meters.forEach((m: unknown, i) => {
    if (!isRecord(m) || m['driver'] !== 'simulated') return;
    const profile = m['profile'];
    // `csv:` without a path is a profile syntax error, which the schema reports.
    if (typeof profile !== 'string' || !/^\s*csv:\s*\S/i.test(profile)) return;
    try {
      parseProfile(profile, readFile);
    } catch (err) {
      issues.push({ path: `POWERMETERS.${i}.profile`, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return issues;
}

/**
 * Checks the files that validated settings name (see {@link settingsFileIssues}) before anything starts, so a
 * missing or unreadable file is reported as `path: message` like any other settings problem.
 */
export function checkSettingsFiles(settings: YoctoRedfishSettings, source?: string, readFile: (path: string) => string = readUtf8): void {
  const issues = settingsFileIssues(settings, readFile);
  if (issues.length > 0) throw new ConfigError(issues, source === undefined ? {} : { source });
}

/** Splits `BIND` into host and port. */
export function parseBind(bind: string): { host: string; port: number } {
  const i = bind.lastIndexOf(':');
  const host = bind.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(bind.slice(i + 1)) };
}

/** Runtime dependencies of the meters built from settings. */
export interface MeterFactoryContext {
  logger: Logger;
  clock?: () => number;
  openUsb?: UsbOpener;
}

/** Builds the meters of a settings file. Nothing is opened here. */
export function createMeters(settings: YoctoRedfishSettings, ctx: MeterFactoryContext): ServedMeter[] {
  return settings.POWERMETERS.map((entry, i) => {
    // The channel deadline follows the driver's own deadline (a simulated meter has none).
    const served = (meter: ServedMeter['meter'], timeoutMs: number | undefined): ServedMeter => ({
      meter,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(entry.id === undefined ? {} : { id: entry.id }),
      ...(entry.name === undefined ? {} : { name: entry.name }),
    });
    const logger = ctx.logger.child({ meter: entry.id ?? String(i + 1), driver: entry.driver });
    switch (entry.driver) {
      case 'yokotool': {
        const timeoutMs = entry.timeout_ms ?? DEFAULT_YOCTO_REDFISH_SETTINGS.yokotoolTimeoutMs;
        return served(
          new YokotoolMeter({ yokotoolPath: settings.YOKOTOOL_PATH, dev: entry.dev, pmtype: entry.pmtype.toLowerCase(), timeoutMs }),
          timeoutMs,
        );
      }
      case 'yokogawa': {
        const timeoutMs = entry.timeout_ms ?? DEFAULT_YOCTO_REDFISH_SETTINGS.usbTimeoutMs;
        return served(
          new YokogawaMeter({
            logger,
            timeoutMs,
            ...(entry.serial === undefined ? {} : { serialNumber: entry.serial }),
            ...(entry.vendor_id === undefined ? {} : { vendorId: entry.vendor_id }),
            ...(entry.product_id === undefined ? {} : { productIds: [entry.product_id] }),
            ...(ctx.openUsb === undefined ? {} : { openUsb: ctx.openUsb }),
          }),
          timeoutMs,
        );
      }
      case 'yoctopuce': {
        const timeoutMs =
          entry.timeout_ms ?? (entry.hub_url === undefined ? DEFAULT_YOCTO_REDFISH_SETTINGS.usbTimeoutMs : DEFAULT_YOCTO_REDFISH_SETTINGS.hubTimeoutMs);
        return served(
          new YoctopuceMeter({
            logger,
            readElectrical: entry.read_electrical,
            timeoutMs,
            ...(entry.serial === undefined ? {} : { serialNumber: entry.serial }),
            ...(entry.hub_url === undefined ? {} : { hubUrl: entry.hub_url }),
            ...(entry.user === undefined ? {} : { user: entry.user }),
            ...(entry.pass === undefined ? {} : { password: entry.pass }),
            ...(ctx.openUsb === undefined ? {} : { openUsb: ctx.openUsb }),
          }),
          timeoutMs,
        );
      }
      case 'simulated':
        return served(
          new SimulatedMeter({
            profile: entry.profile,
            ...(ctx.clock === undefined ? {} : { clock: ctx.clock }),
            ...(entry.serial === undefined ? {} : { serialNumber: entry.serial }),
          }),
          entry.timeout_ms,
        );
    }
  });
}
