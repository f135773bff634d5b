import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type * as BasicFtp from 'basic-ftp';
import {
  AdapterError,
  type AdapterContext,
  type AdapterDefinition,
  type Logger,
  type PowerAdapter,
  type Reading,
} from '@energyrecorder/core';
import { errorMessage, DeviceErrors, lazyLoader, type DeviceErrorOptions } from '../internal/device-support.js';
import { DEFAULT_CSVFTP, csvFtpConfigSchema, type CsvFtpConfig } from './config.js';
import { decodeText, globToRegExp, parseMeterCsv } from './parse.js';

type FtpClient = BasicFtp.Client;
type FtpFileInfo = BasicFtp.FileInfo;
type FtpClientClass = typeof BasicFtp.Client;

const ADAPTER_TYPE = 'csvftp';
/** What a download past `max_file_bytes` gives instead of the bytes. */
const TOO_LARGE = Symbol('too large');
/** Warnings logged per file; the rest are counted in one summary line. */
const MAX_WARNINGS_PER_FILE = 20;
/** A file whose deletion the server keeps refusing is warned about at most this often (debug lines between). */
const PURGE_WARN_INTERVAL_MS = 15 * 60_000;

/** Loads basic-ftp on first use, so registering the adapter costs nothing. */
const loadFtp = lazyLoader(() =>
  import('basic-ftp').then((m): FtpClientClass => {
    const direct = (m as { Client?: FtpClientClass }).Client;
    return direct ?? m.default.Client;
  }),
);

/**
 * Identifies a reading in what the collector acknowledges. The collector rebuilds acknowledged readings from
 * the spooled wire measurements (sensor, unit, value, time), so `source` is gone by then and must not count.
 */
function readingKey(r: Reading): string {
  return `${r.sensor}\u0000${r.unit}\u0000${r.value}\u0000${Math.round(r.timestampNs)}`;
}

/** What identifies one version of a file in a listing: a meter appending lines changes the size (and date). */
function signatureOf(f: FtpFileInfo): string {
  return `${f.size}|${f.rawModifiedAt}`;
}

/** Options of {@link CsvFtpAdapter} beyond the config. */
export interface CsvFtpAdapterOptions {
  logger: Logger;
  /** Per-operation timeout in ms. */
  timeoutMs: number;
  /** Clock in epoch ms, for the settle delay; default `Date.now`. */
  now?: () => number;
}

interface SeenFile {
  signature: string;
  firstSeenMs: number;
}

interface PendingFile {
  /**
   * Listing signature of the version read. With `unconfirmed` empty the file is acknowledged and only its purge is
   * left (the server refused it): it is not read again while unchanged, and the purge is retried.
   */
  signature: string;
  /** When the read that returned the file's readings completed; the file is read again after `ack_timeout_ms`. */
  readAtMs: number;
  unconfirmed: Set<string>;
}

/**
 * Reads CSV files that meters drop on an FTP server. A file is read once its size and date stayed unchanged for
 * `settle_ms` (without blocking the poll); with `purge`, files are deleted in {@link acknowledge} once every
 * reading they produced was confirmed by the API. Timestamps come from the file alone, so re-sending a file
 * yields identical points. A file is pending only once a read returned its readings; one not fully
 * acknowledged within `ack_timeout_ms` is read again.
 */
export class CsvFtpAdapter implements PowerAdapter {
  private readonly config: CsvFtpConfig;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly errors: DeviceErrors;
  private readonly filter: RegExp;
  private readonly seen = new Map<string, SeenFile>();
  /**
   * Files read and not yet fully acknowledged: signature and the keys of their readings still unconfirmed.
   * Confirmations accumulate across `acknowledge()` calls, as one file's readings may be confirmed in parts.
   */
  private readonly pending = new Map<string, PendingFile>();
  /**
   * By signature, files not to read again while unchanged: without purge, those acknowledged; always, those
   * whose every line had an implausible time (kept on the server for the operator).
   */
  private readonly done = new Map<string, string>();
  /** By signature, files larger than `max_file_bytes`: warned about once while unchanged, never downloaded. */
  private readonly tooLarge = new Map<string, string>();
  /** When a refused purge was last warned about, by file name. */
  private readonly purgeWarnedMs = new Map<string, number>();
  /** The CA bundle named by `verify_cert: <path>`, read at the first FTPS connection. */
  private ca: Promise<Buffer> | undefined;

  constructor(config: CsvFtpConfig, options: CsvFtpAdapterOptions) {
    this.config = config;
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs;
    this.now = options.now ?? Date.now;
    this.errors = new DeviceErrors(ADAPTER_TYPE, `${config.address}:${config.port}${config.root_dir}`);
    this.filter = globToRegExp(config.file_filter);
  }

  /** Files read whose readings are not acknowledged yet. */
  get pendingFiles(): string[] {
    return [...this.pending.keys()];
  }

  async read(signal: AbortSignal): Promise<Reading[]> {
    return this.withClient(signal, async (client) => {
      const listing = (await client.list()).filter((f) => f.isFile && this.filter.test(f.name));
      listing.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const nowMs = this.now();
      const present = new Set(listing.map((f) => f.name));
      for (const name of [...this.seen.keys()]) if (!present.has(name)) this.seen.delete(name);
      for (const name of [...this.done.keys()]) if (!present.has(name)) this.done.delete(name);
      for (const name of [...this.pending.keys()]) if (!present.has(name)) this.pending.delete(name);
      for (const name of [...this.tooLarge.keys()]) if (!present.has(name)) this.tooLarge.delete(name);
      for (const name of [...this.purgeWarnedMs.keys()]) if (!present.has(name)) this.purgeWarnedMs.delete(name);
      const maxBytes = this.config.max_file_bytes;
      const eligible: Array<{ name: string; signature: string; size: number; unacknowledgedMs?: number }> = [];
      /** Acknowledged files whose purge the server refused: not read again, their purge retried below. */
      const purgeAgain: string[] = [];
      for (const f of listing) {
        const signature = signatureOf(f);
        const prev = this.seen.get(f.name);
        if (prev === undefined || prev.signature !== signature) {
          this.seen.set(f.name, { signature, firstSeenMs: nowMs });
          if (this.config.settle_ms > 0) continue;
        } else if (nowMs - prev.firstSeenMs < this.config.settle_ms) continue;
        if (this.done.get(f.name) === signature || this.tooLarge.get(f.name) === signature) continue;
        if (f.size > maxBytes) {
          this.warnTooLarge(f.name, signature, f.size);
          continue;
        }
        // Some listing formats give no size (NaN or -1): such a file is read, and its download is bounded.
        const size = Number.isFinite(f.size) && f.size > 0 ? f.size : 0;
        const pending = this.pending.get(f.name);
        if (pending?.signature === signature) {
          if (pending.unconfirmed.size === 0) {
            purgeAgain.push(f.name);
            continue;
          }
          const unacknowledgedMs = nowMs - pending.readAtMs;
          if (unacknowledgedMs < this.config.ack_timeout_ms) continue;
          eligible.push({ name: f.name, signature, size, unacknowledgedMs });
        } else eligible.push({ name: f.name, signature, size });
      }
      let batch = eligible;
      if (eligible.length > this.config.max_files) {
        this.logger.warn(
          { files: eligible.length, maxFiles: this.config.max_files },
          `max_files reached: reading ${this.config.max_files} of ${eligible.length} files this poll`,
        );
        batch = eligible.slice(0, this.config.max_files);
      }
      const parsed: Array<{ name: string; signature: string; readings: Reading[] }> = [];
      // Bytes read this poll, bounded by max_file_bytes: a backlog of large files is spread over several polls.
      let polledBytes = 0;
      for (const [index, file] of batch.entries()) {
        if (signal.aborted) break;
        if (polledBytes > 0 && polledBytes + file.size > maxBytes) {
          this.logger.info(
            { files: batch.length - index, readBytes: polledBytes, maxFileBytes: maxBytes },
            'max_file_bytes read this poll: the remaining files are read at the next polls',
          );
          break;
        }
        if (file.unacknowledgedMs !== undefined) {
          this.logger.warn(
            { file: file.name, unacknowledgedMs: file.unacknowledgedMs, ackTimeoutMs: this.config.ack_timeout_ms },
            'file read again: its readings were not all acknowledged within ack_timeout_ms',
          );
        }
        const bytes = await this.downloadOrSkip(client, file.name, maxBytes);
        // Not marked as read: the next poll tries the file again.
        if (bytes === undefined) continue;
        if (bytes === TOO_LARGE) {
          // Grown past the limit since the listing (or listed without a size).
          this.warnTooLarge(file.name, file.signature, undefined);
          continue;
        }
        polledBytes += bytes.length;
        const result = parseMeterCsv(decodeText(bytes, this.config.encoding), {
          tz: this.config.tz,
          delimiter: this.config.delimiter,
          decimal: this.config.decimal,
          source: file.name,
        });
        for (const w of result.warnings.slice(0, MAX_WARNINGS_PER_FILE)) {
          this.logger.warn({ file: file.name, line: w.line }, w.message);
        }
        if (result.warnings.length > MAX_WARNINGS_PER_FILE) {
          this.logger.warn({ file: file.name, more: result.warnings.length - MAX_WARNINGS_PER_FILE }, 'more lines or cells skipped');
        }
        if (result.implausibleTimeLines > 0 && result.readings.length === 0) {
          // Neither sent nor deleted (the operator may want to fix the times by hand), and not read again while
          // unchanged, so the warning comes once.
          this.done.set(file.name, file.signature);
          this.logger.warn(
            { file: file.name, lines: result.implausibleTimeLines, firstLine: result.firstImplausibleLine },
            `${result.implausibleTimeLines} line(s) with an implausible time (before 2001-09-09 or after 2262: meter clock reset?) and no other reading; file kept on the server and not read again while unchanged`,
          );
          continue;
        }
        if (result.implausibleTimeLines > 0) {
          // One such point would make the API refuse the whole batch, other files' readings included.
          this.logger.warn(
            { file: file.name, lines: result.implausibleTimeLines, firstLine: result.firstImplausibleLine },
            `${result.implausibleTimeLines} line(s) with an implausible time (before 2001-09-09 or after 2262: meter clock reset?) skipped`,
          );
        }
        if (result.readings.length === 0) {
          // Nothing to confirm: purge right away (as the original did for files without data), else remember it.
          // A purge the server refused leaves the file acknowledged with nothing unconfirmed: retried, not re-read.
          if (!this.config.purge) this.done.set(file.name, file.signature);
          else if (!(await this.removeFile(client, file.name))) {
            this.pending.set(file.name, { signature: file.signature, readAtMs: this.now(), unconfirmed: new Set() });
          }
          continue;
        }
        parsed.push({ name: file.name, signature: file.signature, readings: result.readings });
      }
      for (const name of purgeAgain) {
        if (signal.aborted) break;
        if (await this.removeFile(client, name)) this.forgetPurged(name);
      }
      // The collector discards an aborted read's result: files marked pending now would never be acknowledged,
      // so nothing is marked and the next poll reads them again.
      if (signal.aborted) throw this.error('read aborted', { code: 'ER_ABORTED', cause: signal.reason });
      const readAtMs = this.now();
      const readings: Reading[] = [];
      for (const file of parsed) {
        this.pending.set(file.name, { signature: file.signature, readAtMs, unconfirmed: new Set(file.readings.map(readingKey)) });
        readings.push(...file.readings);
      }
      return readings;
    });
  }

  async acknowledge(readings: readonly Reading[], signal: AbortSignal): Promise<void> {
    for (const r of readings) {
      const key = readingKey(r);
      for (const p of this.pending.values()) p.unconfirmed.delete(key);
    }
    // Files confirmed earlier whose purge failed are retried here too.
    const complete = [...this.pending.entries()].filter(([, p]) => p.unconfirmed.size === 0);
    if (complete.length === 0) return;
    if (!this.config.purge) {
      for (const [name, p] of complete) {
        this.done.set(name, p.signature);
        this.pending.delete(name);
      }
      return;
    }
    await this.withClient(signal, async (client) => {
      // A meter appending to a daily file may have written lines since the read: those are not confirmed yet.
      const current = new Map((await client.list()).filter((f) => f.isFile).map((f) => [f.name, signatureOf(f)]));
      for (const [name, p] of complete) {
        const signature = current.get(name);
        if (signature !== p.signature) {
          // Out of pending, the next poll reads the file again (its first lines are re-sent as the same points).
          this.pending.delete(name);
          if (signature !== undefined) {
            this.logger.info({ file: name, readAs: p.signature, current: signature }, 'file changed since it was read: not purged, read again at a next poll');
          }
          continue;
        }
        // Refused: the file stays pending with nothing unconfirmed, so it is not read again and its purge is
        // retried at the next confirmation and the next poll.
        if (await this.removeFile(client, name)) this.forgetPurged(name);
      }
    });
  }

  async close(): Promise<void> {
    // One FTP session per poll: nothing stays open between calls.
  }

  private forgetPurged(name: string): void {
    this.pending.delete(name);
    this.seen.delete(name);
    this.purgeWarnedMs.delete(name);
  }

  /**
   * Deletes a processed file; true when the server confirmed. A refusal (an FTP reply such as 550 "permission
   * denied" or 450 "file busy") is logged, at most once per {@link PURGE_WARN_INTERVAL_MS} per file, and gives
   * false; other failures (connection lost, timeout) throw.
   */
  private async removeFile(client: FtpClient, name: string): Promise<boolean> {
    try {
      await client.remove(name);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code !== 'number') throw err;
      const nowMs = this.now();
      const last = this.purgeWarnedMs.get(name);
      const fields = { file: name, ftpCode: code, err: errorMessage(err) };
      const message = 'the server refused to delete a processed file: kept, not read again, deletion retried';
      if (last === undefined || nowMs - last >= PURGE_WARN_INTERVAL_MS) {
        this.purgeWarnedMs.set(name, nowMs);
        this.logger.warn(fields, message);
      } else this.logger.debug(fields, message);
      return false;
    }
    this.logger.info({ file: name }, 'purged processed file');
    return true;
  }

  /**
   * Downloads one file; a refusal that concerns that file only (gone since the listing, locked by the meter,
   * unreadable: 450, 550, 551) is logged and skipped so the other files of the poll still count.
   */
  private async downloadOrSkip(client: FtpClient, name: string, maxBytes: number): Promise<Buffer | typeof TOO_LARGE | undefined> {
    try {
      return await this.download(client, name, maxBytes);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code !== 450 && code !== 550 && code !== 551) throw err;
      this.logger.warn({ file: name, ftpCode: code }, 'file skipped: the server refused to send it; trying again next poll');
      return undefined;
    }
  }

  /**
   * Downloads one file into memory, at most `maxBytes` of it. Past that the rest is received and dropped, rather
   * than the transfer aborted, so the FTP session stays usable for the other files of the poll.
   */
  private async download(client: FtpClient, name: string, maxBytes: number): Promise<Buffer | typeof TOO_LARGE> {
    const chunks: Buffer[] = [];
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received <= maxBytes) chunks.push(chunk);
        else chunks.length = 0;
        callback();
      },
    });
    await client.downloadTo(sink, name);
    return received > maxBytes ? TOO_LARGE : Buffer.concat(chunks);
  }

  private warnTooLarge(name: string, signature: string, size: number | undefined): void {
    if (this.tooLarge.get(name) === signature) return;
    this.tooLarge.set(name, signature);
    this.logger.warn(
      { file: name, ...(size === undefined ? {} : { bytes: size }), maxFileBytes: this.config.max_file_bytes },
      'file larger than max_file_bytes: not read (kept on the server); raise max_file_bytes or have the meter split its files',
    );
  }

  private async tlsOptions(): Promise<{ rejectUnauthorized: boolean; ca?: Buffer }> {
    const verify = this.config.verify_cert;
    if (typeof verify === 'boolean' || this.config.secure === false) return { rejectUnauthorized: verify !== false };
    this.ca ??= readFile(verify);
    try {
      return { rejectUnauthorized: true, ca: await this.ca };
    } catch (err) {
      this.ca = undefined;
      throw this.error(`cannot read the CA bundle verify_cert names (${verify}): ${errorMessage(err)}`, { code: 'ER_ADAPTER_CONFIG', retryable: false });
    }
  }

  private async withClient<T>(signal: AbortSignal, fn: (client: FtpClient) => Promise<T>): Promise<T> {
    if (signal.aborted) throw this.error('aborted before the read started', { code: 'ER_ABORTED' });
    const Client = await loadFtp();
    const client = new Client(this.timeoutMs);
    const onAbort = (): void => client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.access({
        host: this.config.address,
        port: this.config.port,
        user: this.config.user ?? 'anonymous',
        password: this.config.pass ?? 'anonymous@',
        secure: this.config.secure,
        secureOptions: await this.tlsOptions(),
      });
      await client.cd(this.config.root_dir);
      return await fn(client);
    } catch (err) {
      throw this.translate(err, signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      client.close();
    }
  }

  private error(message: string, opts: DeviceErrorOptions): AdapterError {
    return this.errors.error(message, opts);
  }

  private translate(err: unknown, signal: AbortSignal): AdapterError {
    const common = this.errors.common(err, signal);
    if (common !== undefined) return common;
    const message = errorMessage(err);
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 530) return this.error(`login refused: ${message}`, { code: 'ER_CSVFTP_AUTH', retryable: false, cause: err });
    if (code === 550) return this.error(`path refused: ${message}`, { code: 'ER_CSVFTP_PATH', retryable: false, cause: err });
    if (typeof code === 'string' && /^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NOTFOUND|AI_AGAIN)$/.test(code)) {
      return this.error(`connection failed: ${message}`, { code: 'ER_CSVFTP_CONNECT', cause: err });
    }
    if (/timeout/i.test(message)) return this.error(`timed out: ${message}`, { code: 'ER_CSVFTP_TIMEOUT', cause: err });
    return this.error(`FTP exchange failed: ${message}`, { code: 'ER_CSVFTP', cause: err });
  }
}

/** The `csvftp` adapter: CSV files on an FTP server, with the original's keys. */
export const csvFtpAdapterDefinition: AdapterDefinition<typeof csvFtpConfigSchema> = Object.freeze({
  type: ADAPTER_TYPE,
  description: 'CSV files dropped by meters on an FTP server (header "name (unit)", per-line date and zone)',
  configSchema: csvFtpConfigSchema,
  create(config: CsvFtpConfig, ctx: AdapterContext): PowerAdapter {
    const timeoutMs = config.timeout !== undefined ? Math.round(config.timeout * 1000) : DEFAULT_CSVFTP.timeoutS * 1000;
    return new CsvFtpAdapter(config, { logger: ctx.logger, timeoutMs });
  },
});
