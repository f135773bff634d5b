import { z } from 'zod';
import { configBoolean, configVerifyCert, nullAsDefault } from '@energyrecorder/core';
import { deviceIdentityKeys, optionalText } from '../internal/config-fields.js';
import { isKnownZone, isSupportedEncoding } from './parse.js';

/** Defaults of the `csvftp` adapter keys, exported for the docs. */
export const DEFAULT_CSVFTP = Object.freeze({
  port: 21,
  rootDir: '/',
  fileFilter: '*',
  encoding: 'utf8',
  purge: false,
  /** A file is read once its size and date have not changed for this long (the original slept 30 s). */
  settleMs: 30_000,
  delimiter: ',',
  /** The original's FTP timeout, in seconds. */
  timeoutS: 20,
  /**
   * Files read per poll: a backlog is worked through over several polls instead of being downloaded (and held in
   * memory) at once, past the poll's deadline.
   */
  maxFiles: 100,
  /**
   * A file read but not fully acknowledged for this long is read again (its readings may have been lost, e.g. a
   * poll result discarded). Long enough that an API outage, during which the spool holds the readings, does not
   * cause re-reads every poll; re-sent readings are harmless (same points at the same times).
   */
  ackTimeoutMs: 3_600_000,
  /**
   * Largest file read, in bytes, and the bytes read per poll: a file is held in memory while it is parsed, and
   * its readings take several times its size. A day of 1 s lines with ten columns is about 9 MB.
   */
  maxFileBytes: 32 * 1024 * 1024,
});

/**
 * Keys of a `csvftp` device entry (the original's, plus `settle_ms`, `port`, `delimiter`, `decimal`, `secure`,
 * `ack_timeout_ms`, `max_file_bytes`).
 */
export const csvFtpConfigSchema = z
  .looseObject({
    ...deviceIdentityKeys,
    /** `host` or `host:port`. */
    host: z.string().trim().min(1, 'required: FTP server address'),
    port: z.coerce.number().int().min(1).max(65535).optional(),
    user: optionalText,
    pass: optionalText,
    root_dir: z.string().min(1).default(DEFAULT_CSVFTP.rootDir),
    file_filter: z.string().min(1).default(DEFAULT_CSVFTP.fileFilter),
    encoding: z
      .string()
      .default(DEFAULT_CSVFTP.encoding)
      .refine(isSupportedEncoding, 'unknown encoding; use utf8, latin1, cp1252, utf-16 or another WHATWG label'),
    /** Overrides the zone column: `Europe/Paris`, `+02:00`, `UTC`, `local`. */
    tz: optionalText.refine((v) => v === undefined || isKnownZone(v), 'unknown time zone; use an IANA name, ±HH:MM, Z, UTC or local'),
    max_files: z.number().int().positive().default(DEFAULT_CSVFTP.maxFiles),
    ack_timeout_ms: z.number().int().positive().default(DEFAULT_CSVFTP.ackTimeoutMs),
    max_file_bytes: z.number().int().positive().default(DEFAULT_CSVFTP.maxFileBytes),
    purge: configBoolean().default(DEFAULT_CSVFTP.purge),
    settle_ms: z.number().int().min(0).default(DEFAULT_CSVFTP.settleMs),
    delimiter: z.string().length(1).default(DEFAULT_CSVFTP.delimiter),
    /** Decimal separator of the values; default `,` when `delimiter` is `;`, else `.`. */
    decimal: z.enum(['.', ',']).optional(),
    /** FTPS: `true` for explicit TLS (AUTH TLS), `implicit` for port 990 style. Certificates are verified. */
    secure: z.union([z.literal('implicit'), configBoolean()]).default(false),
    /** A boolean, or the path of a CA bundle (PEM) to verify the FTPS server with (requests' `verify=<path>` form). */
    verify_cert: configVerifyCert(true),
    /** Per-operation timeout in seconds; left empty (`timeout:`), the default. */
    timeout: nullAsDefault(z.number().positive().optional()),
  })
  .transform((cfg, ctx) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(cfg.host);
    const address = m?.[1] ?? cfg.host;
    const port = cfg.port ?? (m?.[2] === undefined ? DEFAULT_CSVFTP.port : Number(m[2]));
    if (address === '' || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'must be "host" or "host:port"' });
      return z.NEVER;
    }
    return { ...cfg, address, port };
  });

/** A validated `csvftp` device entry (`address` and `port` split from `host`). */
export type CsvFtpConfig = z.output<typeof csvFtpConfigSchema>;
