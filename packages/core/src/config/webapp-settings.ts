import { z } from 'zod';
import { configBoolean } from './yaml-booleans.js';
import { configVerifyCert, resolveVerifyCert } from './verify-cert.js';

/** Defaults of `webapp-settings.yaml`, exported for the docs. */
export const DEFAULT_WEBAPP_SETTINGS = Object.freeze({
  influxDb: 'NRG',
  powerDataRetention: '3w',
  /** The original's 12 h silently ended long scenarios; new databases get a year. */
  runningScenariosRetention: '52w',
  bind: '0.0.0.0:8888',
  alwaysRecord: true,
  mqttPort: 1883,
  mqttBasePath: '',
  mqttQos: 0 as 0 | 1 | 2,
  storePath: './energyrecorder.db',
  /** Embedded store: measurements kept as long as InfluxDB's `power_data_rp`. */
  storeRetention: '3w',
  /** Embedded store: scenario events kept as long as InfluxDB's `running_scenarios_rp`. */
  storeEventsRetention: '52w',
  bodyLimitBytes: 20 * 1024 * 1024,
  /** InfluxDB store: directory of the durable write queue, relative to the working directory. */
  influxQueueDir: './influx-queue',
  /** InfluxDB store: most bytes of line protocol the write queue holds while influxd is down or slow. */
  influxQueueMaxBytes: 1024 * 1024 * 1024,
});

// A number is a password too (`pass: 123456` in YAML): the original sent it as its text.
const optionalSecret = z
  .union([z.string(), z.number().transform(String), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined ? undefined : v));

const influxDuration = z.string().regex(/^(INF|(\d+(ns|u|µ|ms|s|m|h|d|w))+)$/, 'an InfluxDB duration such as 3w, 12h or INF');

/** False for a URL with user info; true otherwise, an invalid URL included (the URL check reports that one). */
function noCredentialsInUrl(u: string): boolean {
  try {
    const url = new URL(u);
    return url.username === '' && url.password === '';
  } catch {
    return true;
  }
}

/** `INFLUX`: the InfluxDB 1.x store. Absent means the embedded store. */
export const influxSettingsSchema = z.object({
  host: z
    .url({ protocol: /^https?$/ })
    // The host is printed by --check-config and logged at start, and the HTTP client would drop user info anyway.
    .refine(noCredentialsInUrl, 'must not hold credentials (user:pass@); set INFLUX.user and INFLUX.pass')
    .transform((u) => u.replace(/\/+$/, '')),
  db: z.string().min(1).default(DEFAULT_WEBAPP_SETTINGS.influxDb),
  /** `null` (or absent) sends no auth; a string, even empty, sends Basic auth as the original. */
  user: optionalSecret,
  pass: optionalSecret,
  verify_cert: configVerifyCert(true),
  ca_file: z.string().min(1).optional(),
  power_data_retention: influxDuration.default(DEFAULT_WEBAPP_SETTINGS.powerDataRetention),
  running_scenarios_retention: influxDuration.default(DEFAULT_WEBAPP_SETTINGS.runningScenariosRetention),
  /** Request timeout in ms. */
  timeout_ms: z.number().int().positive().default(10_000),
  /**
   * Acknowledge a batch once it is synced to the local write queue (`queue_dir`) and write it to influxd from
   * there, so an influxd outage or restart costs clients nothing; `false`: acknowledge once influxd stored it.
   */
  queue: configBoolean().default(true),
  queue_dir: z.string().min(1).default(DEFAULT_WEBAPP_SETTINGS.influxQueueDir),
  queue_max_bytes: z.number().int().positive().default(DEFAULT_WEBAPP_SETTINGS.influxQueueMaxBytes),
}).transform(resolveVerifyCert);

/** `MQTT`: optional republishing of every stored measurement. */
export const mqttSettingsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(DEFAULT_WEBAPP_SETTINGS.mqttPort),
  user: optionalSecret,
  pass: optionalSecret,
  base_path: z
    .string()
    .default(DEFAULT_WEBAPP_SETTINGS.mqttBasePath)
    .transform((p) => p.replace(/\/+$/, '')),
  tls: configBoolean().default(false),
  ca_file: z.string().min(1).optional(),
  verify_cert: configVerifyCert(true),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(DEFAULT_WEBAPP_SETTINGS.mqttQos),
}).transform(resolveVerifyCert);

/** `STORE`: the embedded database, used when `INFLUX` is absent. */
export const storeSettingsSchema = z.object({
  path: z.string().min(1).default(DEFAULT_WEBAPP_SETTINGS.storePath),
  /** Measurements older than this are deleted (InfluxDB duration syntax, `INF` keeps them). */
  retention: influxDuration.default(DEFAULT_WEBAPP_SETTINGS.storeRetention),
  /** Scenario events older than this are deleted. */
  events_retention: influxDuration.default(DEFAULT_WEBAPP_SETTINGS.storeEventsRetention),
});

/** One API user of the optional authentication. */
export const apiUserSchema = z.object({
  name: z.string().min(1),
  password: z.string().min(1),
  role: z.enum(['writer', 'reader']),
});

/** `AUTH`: optional Basic authentication of the API itself. Off when absent. */
export const authSettingsSchema = z.object({
  users: z.array(apiUserSchema).min(1),
  /** Whether GET requests need a user too. */
  protect_reads: configBoolean().default(true),
});

/** `TLS`: optional HTTPS for the API. */
export const tlsSettingsSchema = z.object({
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
});

/** `LOG`: optional log settings. */
export const logSettingsSchema = z.object({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  file: z.string().min(1).optional(),
});

const emptyToUndefined = (v: unknown): unknown =>
  v === null || (typeof v === 'object' && v !== null && Object.keys(v).length === 0) ? undefined : v;

/** The whole `webapp-settings.yaml`. The original's files load unchanged. */
export const webappSettingsSchema = z.object({
  INFLUX: z.preprocess(emptyToUndefined, influxSettingsSchema.optional()),
  BIND: z
    .string()
    .regex(/^[^\s:]*:\d{1,5}$/, 'expected "host:port"')
    .refine((b) => Number(b.slice(b.lastIndexOf(':') + 1)) <= 65535, 'port must be between 0 and 65535')
    .default(DEFAULT_WEBAPP_SETTINGS.bind),
  ALWAYS_RECORD: configBoolean().default(DEFAULT_WEBAPP_SETTINGS.alwaysRecord),
  MQTT: z.preprocess(emptyToUndefined, mqttSettingsSchema.optional()),
  // Absent sections are parsed as `{}`, so their defaults are the keys' own and cannot drift from a copy.
  STORE: storeSettingsSchema.prefault({}),
  AUTH: z.preprocess(emptyToUndefined, authSettingsSchema.optional()),
  TLS: z.preprocess(emptyToUndefined, tlsSettingsSchema.optional()),
  LOG: logSettingsSchema.prefault({}),
  BODY_LIMIT_BYTES: z.number().int().positive().default(DEFAULT_WEBAPP_SETTINGS.bodyLimitBytes),
});

export type WebappSettings = z.output<typeof webappSettingsSchema>;
export type InfluxSettings = z.output<typeof influxSettingsSchema>;
export type MqttSettings = z.output<typeof mqttSettingsSchema>;
export type ApiUser = z.output<typeof apiUserSchema>;
