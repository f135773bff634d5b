/** Options shared by every EnergyRecorder error. */
export interface EnergyRecorderErrorOptions {
  /** Whether repeating the same operation later may succeed. */
  retryable?: boolean;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Base class of every error the EnergyRecorder packages throw. `code` is stable and listed in each package
 * README; `retryable` tells callers whether to try again.
 */
export class EnergyRecorderError extends Error {
  /** Stable machine-readable code, e.g. `ER_CONFIG`. */
  readonly code: string;
  /** Whether the same operation may succeed when retried. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: EnergyRecorderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** One problem found in a configuration: where it is, and what is wrong. */
export interface ConfigIssue {
  /** Dotted path of the offending key, e.g. `PODS.0.servers.1.host`. */
  path: string;
  /** Human-readable problem. */
  message: string;
}

/** A configuration file or object failed validation. `issues` lists every problem, not just the first. */
export class ConfigError extends EnergyRecorderError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: { source?: string; cause?: unknown } = {}) {
    const where = options.source === undefined ? 'configuration' : options.source;
    const lines = issues.map((i) => `  ${i.path === '' ? '(root)' : i.path}: ${i.message}`);
    super('ER_CONFIG', `invalid ${where}:\n${lines.join('\n')}`, { retryable: false, cause: options.cause });
    this.issues = issues;
  }
}

/** Options of {@link AdapterError}. */
export interface AdapterErrorOptions extends EnergyRecorderErrorOptions {
  /** Adapter type, e.g. `redfish`. */
  adapterType: string;
  /** Device address the adapter talks to (never includes credentials). */
  target: string;
  /** A more precise code than the default `ER_ADAPTER`, e.g. `ER_ADAPTER_AUTH`. */
  code?: string;
}

/** A device read failed: unreachable, refused credentials, timed out or answered garbage. */
export class AdapterError extends EnergyRecorderError {
  readonly adapterType: string;
  readonly target: string;

  constructor(message: string, options: AdapterErrorOptions) {
    super(options.code ?? 'ER_ADAPTER', `${options.adapterType} ${options.target}: ${message}`, {
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
    this.adapterType = options.adapterType;
    this.target = options.target;
  }
}

/** Options of {@link HttpStatusError}. */
export interface HttpStatusErrorOptions extends EnergyRecorderErrorOptions {
  /** HTTP status code. */
  status: number;
  /** Body of the answer, cut to a readable length. */
  body?: string;
  /** Delay asked by a `Retry-After` header, in milliseconds. */
  retryAfterMs?: number;
}

/** An HTTP peer answered with an error status. 5xx and 429 are retryable, other 4xx are not. */
export class HttpStatusError extends EnergyRecorderError {
  readonly status: number;
  readonly body: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: HttpStatusErrorOptions) {
    super('ER_HTTP_STATUS', message, {
      retryable: options.retryable ?? (options.status >= 500 || options.status === 429),
      cause: options.cause,
    });
    this.status = options.status;
    this.body = options.body;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** An operation was given up because its deadline passed. Always retryable. */
export class TimeoutError extends EnergyRecorderError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ER_TIMEOUT', message, { retryable: true, cause: options.cause });
  }
}

/** Input (an HTTP body, a device payload, a file) does not have the expected shape. */
export class ValidationError extends EnergyRecorderError {
  /** Path of the offending field, e.g. `measurements.3.value`. */
  readonly field: string;

  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super('ER_VALIDATION', field === '' ? message : `${field}: ${message}`, { retryable: false, cause: options.cause });
    this.field = field;
  }
}

/**
 * Longest delay a `Retry-After` is honoured for: a server (or a proxy in front of it) asking for a day, or for
 * 10^20 s, would otherwise stall delivery until a restart. Callers with their own back-off cap apply it as well.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Parses the value of a `Retry-After` header (seconds or an HTTP date) into milliseconds from `nowMs`.
 * Returns `undefined` when the header is absent or unreadable.
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP-date (RFC 9110 IMF-fixdate, or the obsolete RFC 850 and asctime forms) names a weekday or a month;
  // V8's lenient Date.parse would otherwise read "1.5" or "1 2" as a date long past, meaning "retry now".
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - nowMs), MAX_RETRY_AFTER_MS);
}
