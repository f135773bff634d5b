import type { Logger } from '@energyrecorder/core';
// Subpaths, not the package: core's main entry would load zod and its config schemas into every test process.
import { basicAuthorization } from '@energyrecorder/core/http-auth';
import { splitUrlCredentials } from '@energyrecorder/core/url';
import { configError, type SdkConfigIssue } from './errors.js';

/** The public API the original OPNFV SDK pointed at; includes the `/resources` root. */
export const DEFAULT_API_URL = 'http://energy.opnfv.fr/resources';

/** Defaults of the optional {@link RecorderOptions}, exported for the docs. */
export const DEFAULT_RECORDER_OPTIONS = Object.freeze({
  apiUrl: DEFAULT_API_URL,
  /** The final functest SDK used one 4 s timeout per call. */
  timeoutMs: 4000,
  /** How long the SDK stays silent after the API was found unreachable before it probes again. */
  retryAfterMs: 30_000,
  /** How long `recording()`, async decorated methods and `step(name, fn)` wait for a marker call. */
  waitMs: 1000,
});

/** Options of {@link EnergyRecorder}. */
export interface RecorderOptions {
  /** Environment (POD) name; the join key with the collectors. `NODE_NAME` in CI. */
  environment: string;
  /**
   * Base URL of the recording API including `/resources`. Default {@link DEFAULT_API_URL}. Credentials in it
   * (`http://user:pass@host/resources`, percent-encoded) are taken off the URL and sent as Basic auth, unless
   * `user` and `password` are both given.
   */
  apiUrl?: string;
  /** Basic-auth user (sent only when `password` is set too); wins over credentials in `apiUrl`. */
  user?: string;
  /** Basic-auth password (sent only when `user` is set too). Never logged. */
  password?: string;
  /** Deadline of every HTTP call in ms. Default 4000. */
  timeoutMs?: number;
  /** Back-off in ms after the API was found unreachable, before the next probe. Default 30000. */
  retryAfterMs?: number;
  /**
   * Longest wait in ms of `recording()`, async decorated methods and `step(name, fn)` for their start/step marker
   * before running the body, and for the end marker afterwards. A marker still pending then is sent in the
   * background, in order. Default 1000; 0 never waits.
   */
  waitMs?: number;
  /** Where failures and decisions are logged. Default: nothing is logged. */
  logger?: Logger;
}

/** {@link RecorderOptions} after validation and defaults. */
export interface ResolvedRecorderOptions {
  environment: string;
  /** Without credentials (they are in `authorization`) and without a trailing slash. */
  apiUrl: string;
  /** `Basic ...` header value, or undefined when no auth is sent. */
  authorization: string | undefined;
  timeoutMs: number;
  retryAfterMs: number;
  waitMs: number;
  logger: Logger | undefined;
}

/**
 * Largest delay Node's timers accept (2^31 - 1 ms, about 24.8 days): above it `setTimeout` fires after 1 ms with a
 * TimeoutOverflowWarning and `AbortSignal.timeout` throws, so larger durations are refused up front.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** The problem with a duration option, or undefined when it is an integer in [min, MAX_DURATION_MS]. */
function durationIssue(value: unknown, min: 0 | 1): string | undefined {
  const range = min === 1 ? `a positive integer (ms) <= ${MAX_DURATION_MS}` : `an integer >= 0 (ms) <= ${MAX_DURATION_MS}`;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) return `must be ${range}`;
  if (value > MAX_DURATION_MS) return `must be ${range}, got ${value}`;
  return undefined;
}

/** Validates options and applies defaults; throws `ER_SDK_CONFIG` listing every problem. */
export function resolveRecorderOptions(options: RecorderOptions, names: Partial<Record<keyof RecorderOptions, string>> = {}): ResolvedRecorderOptions {
  const issues: SdkConfigIssue[] = [];
  const name = (key: keyof RecorderOptions): string => names[key] ?? key;
  if (typeof options.environment !== 'string' || options.environment.trim() === '') {
    issues.push({ path: name('environment'), message: 'required, a non-empty string' });
  }
  // Node's fetch refuses a URL holding credentials, and the URL is logged: they travel in the header instead.
  const split = splitUrlCredentials(options.apiUrl ?? DEFAULT_RECORDER_OPTIONS.apiUrl);
  const apiUrl = split.url.replace(/\/+$/, '');
  try {
    const parsed = new URL(apiUrl);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      issues.push({ path: name('apiUrl'), message: `must be an http(s) URL, got protocol ${parsed.protocol}` });
    }
  } catch {
    issues.push({ path: name('apiUrl'), message: 'must be an absolute http(s) URL' });
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_RECORDER_OPTIONS.timeoutMs;
  const timeoutIssue = durationIssue(timeoutMs, 1);
  if (timeoutIssue !== undefined) issues.push({ path: name('timeoutMs'), message: timeoutIssue });
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RECORDER_OPTIONS.retryAfterMs;
  const retryIssue = durationIssue(retryAfterMs, 0);
  if (retryIssue !== undefined) issues.push({ path: name('retryAfterMs'), message: retryIssue });
  const waitMs = options.waitMs ?? DEFAULT_RECORDER_OPTIONS.waitMs;
  const waitIssue = durationIssue(waitMs, 0);
  if (waitIssue !== undefined) issues.push({ path: name('waitMs'), message: waitIssue });
  for (const key of ['user', 'password'] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== 'string') issues.push({ path: name(key), message: 'must be a string' });
  }
  if (issues.length > 0) throw configError(issues);
  const user = options.user ?? '';
  const password = options.password ?? '';
  // As the original (requests): the user and password options when both are non-empty, else the URL's
  // credentials when it has a user or a password (`http://token@host` sends `token:`), else no auth.
  let authorization: string | undefined;
  if (user !== '' && password !== '') authorization = basicAuthorization(user, password);
  else if (split.user !== undefined || split.pass !== undefined) authorization = basicAuthorization(split.user ?? '', split.pass ?? '');
  return { environment: options.environment, apiUrl, authorization, timeoutMs, retryAfterMs, waitMs, logger: options.logger };
}

/** Environment variable names read by {@link optionsFromEnv}. */
export const ENV_VARS = Object.freeze({
  environment: 'NODE_NAME',
  apiUrl: 'ENERGY_RECORDER_API_URL',
  user: 'ENERGY_RECORDER_API_USER',
  password: 'ENERGY_RECORDER_API_PASSWORD',
  timeoutMs: 'ENERGY_RECORDER_TIMEOUT_MS',
  retryAfterMs: 'ENERGY_RECORDER_RETRY_AFTER_MS',
  waitMs: 'ENERGY_RECORDER_WAIT_MS',
});

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function intOrRaw(value: string | undefined): number | undefined {
  const v = nonEmpty(value);
  if (v === undefined) return undefined;
  // NaN makes the validator report the variable by name.
  return /^\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
}

/**
 * Reads the options from environment variables (the original SDK's names). `overrides` win over the variables.
 * Validation happens in {@link resolveRecorderOptions}, which names the variables in its messages.
 */
export function optionsFromEnv(env: Record<string, string | undefined>, overrides: Partial<RecorderOptions> = {}): RecorderOptions {
  const fromEnv: RecorderOptions = { environment: nonEmpty(env[ENV_VARS.environment]) ?? '' };
  const apiUrl = nonEmpty(env[ENV_VARS.apiUrl]);
  if (apiUrl !== undefined) fromEnv.apiUrl = apiUrl;
  const user = nonEmpty(env[ENV_VARS.user]);
  if (user !== undefined) fromEnv.user = user;
  const password = nonEmpty(env[ENV_VARS.password]);
  if (password !== undefined) fromEnv.password = password;
  const timeoutMs = intOrRaw(env[ENV_VARS.timeoutMs]);
  if (timeoutMs !== undefined) fromEnv.timeoutMs = timeoutMs;
  const retryAfterMs = intOrRaw(env[ENV_VARS.retryAfterMs]);
  if (retryAfterMs !== undefined) fromEnv.retryAfterMs = retryAfterMs;
  const waitMs = intOrRaw(env[ENV_VARS.waitMs]);
  if (waitMs !== undefined) fromEnv.waitMs = waitMs;
  return { ...fromEnv, ...overrides };
}

/**
 * Reads the 2017 functest configuration keys `energy_recorder.api_url`, `api_user`, `api_password` (nested
 * object or flat dotted keys). The environment still comes from the caller (`NODE_NAME` then).
 */
export function optionsFromLegacyConfig(config: Record<string, unknown>, environment: string): RecorderOptions {
  const nested = config['energy_recorder'];
  const section: Record<string, unknown> = typeof nested === 'object' && nested !== null ? (nested as Record<string, unknown>) : {};
  const pick = (key: string): string | undefined => {
    const v = section[key] ?? config[`energy_recorder.${key}`];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const result: RecorderOptions = { environment };
  const apiUrl = pick('api_url');
  if (apiUrl !== undefined) result.apiUrl = apiUrl;
  const user = pick('api_user');
  if (user !== undefined) result.user = user;
  const password = pick('api_password');
  if (password !== undefined) result.password = password;
  return result;
}
