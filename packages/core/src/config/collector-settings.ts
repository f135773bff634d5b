import { z } from 'zod';
import { configBoolean } from './yaml-booleans.js';
import { configVerifyCert, nullAsDefault, resolveVerifyCert } from './verify-cert.js';
import { nameProblem } from '../names.js';
import { topologyMapSchema } from './topology.js';

/** Defaults of `collector-settings.yaml`, exported for the docs. */
export const DEFAULT_COLLECTOR_SETTINGS = Object.freeze({
  pollingIntervalS: 10,
  minPollingIntervalS: 0.1,
  verifyCert: true,
  /** Read timeout towards the API in seconds. The original's code said 300 and its docs 2; 30 is a middle. */
  apiTimeoutS: 30,
  spoolDir: './spool',
  spoolMaxBytes: 256 * 1024 * 1024,
  flushIntervalMs: 1000,
  maxBatchReadings: 10_000,
});

// A number is a password too (`pass: 123456` in YAML): the original's requests sent it as its text.
const optionalSecret = z
  .union([z.string(), z.number().transform(String), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : v));

/**
 * A name the API stores as a tag (environment, equipment id, topology key or value): checked here with the API's
 * own rules, since a name it refuses would cost every batch of the device or environment, not fail at start.
 */
const tagName = z.string().superRefine((v, ctx) => {
  const problem = nameProblem(v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** `topology`: location tags added to every reading of the environment (numbers and booleans as their text). */
const topologySchema = topologyMapSchema(tagName, { reservedMessage: 'is a reserved tag name (a tag every reading already has)' });

/** One `servers[]` entry: common keys are checked here, adapter keys by the adapter's own schema. */
export const deviceEntrySchema = z.looseObject({
  id: z.union([z.string(), z.number().transform(String)]).pipe(tagName),
  type: z.string().min(1),
  active: configBoolean().default(true),
});

/** Longest delay in seconds that Node's timers honour (2^31 - 1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);

/** One `PODS[]` entry: an environment and its devices. */
export const podSchema = z.object({
  environment: tagName,
  /** Seconds between polls; the original forced values ≤ 0 to 0.1. */
  polling_interval: z
    .number()
    // Node timers fire at once for delays above 2^31 - 1 ms (about 24.8 days).
    .max(MAX_TIMER_S, `must be at most ${MAX_TIMER_S} s (Node's timer limit)`)
    .optional()
    .transform((v) =>
      v === undefined
        ? DEFAULT_COLLECTOR_SETTINGS.pollingIntervalS
        : v <= 0
          ? DEFAULT_COLLECTOR_SETTINGS.minPollingIntervalS
          : v,
    ),
  active: configBoolean().default(true),
  topology: topologySchema.optional(),
  servers: z.array(deviceEntrySchema).default([]),
});

/** `RECORDER_API_SERVER`: where and how to push readings. */
export const recorderApiServerSchema = z.object({
  /** Server root, without `/resources`. */
  base_url: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
  user: optionalSecret,
  pass: optionalSecret,
  /** `true`/`false`, or a CA bundle path (requests' `verify=<path>`), which is resolved into `ca_file`. */
  verify_cert: configVerifyCert(DEFAULT_COLLECTOR_SETTINGS.verifyCert),
  /** PEM file of the CAs to trust (instead of the system's). */
  ca_file: z.string().min(1).optional(),
  /** Read timeout in seconds; empty (`null`) means the default. */
  timeout: nullAsDefault(
    z.number().positive().max(MAX_TIMER_S, `must be at most ${MAX_TIMER_S} s (Node's timer limit)`).default(DEFAULT_COLLECTOR_SETTINGS.apiTimeoutS),
  ),
  // `proxy.corp:3128` without a scheme means http, as the original's requests read it.
  proxy: z
    .union([z.string(), z.null()])
    .optional()
    .transform((v) => (v === null || v === undefined || v.trim() === '' ? undefined : /^[a-z][a-z0-9+.-]*:\/\//i.test(v.trim()) ? v.trim() : `http://${v.trim()}`))
    .pipe(z.url({ protocol: /^https?$/ }).optional()),
}).transform(resolveVerifyCert);

/** `COLLECTOR` (new, optional): spool, flush and health-endpoint settings. */
export const collectorSectionSchema = z
  .object({
    spool_dir: z.string().min(1).default(DEFAULT_COLLECTOR_SETTINGS.spoolDir),
    spool_max_bytes: z.number().int().positive().default(DEFAULT_COLLECTOR_SETTINGS.spoolMaxBytes),
    flush_interval_ms: z.number().int().positive().default(DEFAULT_COLLECTOR_SETTINGS.flushIntervalMs),
    http_host: z.string().default('127.0.0.1'),
    /** Port of `/healthz` and `/metrics`; absent means no HTTP server. */
    http_port: z.number().int().min(0).max(65535).optional(),
    log_file: z.string().min(1).optional(),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  })
  // An absent section is parsed as `{}`, so its defaults are the keys' own and cannot drift from a copy.
  .prefault({});

/** The whole `collector-settings.yaml`. The original's files load unchanged. */
export const collectorSettingsSchema = z.object({
  PODS: z.array(podSchema).default([]),
  RECORDER_API_SERVER: recorderApiServerSchema,
  COLLECTOR: collectorSectionSchema,
});

export type CollectorSettings = z.output<typeof collectorSettingsSchema>;
export type PodSettings = z.output<typeof podSchema>;
export type DeviceEntry = z.output<typeof deviceEntrySchema>;
export type RecorderApiServerSettings = z.output<typeof recorderApiServerSchema>;
