import type * as NetSnmp from 'net-snmp';
import {
  AdapterError,
  nowNs,
  type AdapterContext,
  type AdapterDefinition,
  type Logger,
  type PowerAdapter,
  type Reading,
} from '@energyrecorder/core';
import { errorMessage, DeviceErrors, deviceTimeoutMs, lazyLoader, type DeviceErrorOptions } from '../internal/device-support.js';
import { DEFAULT_SNMP, resolveSnmpSensors, resolveV3User, snmpConfigSchema, snmpTransport, type SnmpConfig } from './config.js';
import { SnmpType, decodeVarbind, scaleValue } from './decode.js';
import type { SnmpSensorSpec } from './presets.js';

type NetSnmpModule = Omit<typeof NetSnmp, 'default'>;
type Session = NetSnmp.Session;
type Varbind = NetSnmp.Varbind;

const ADAPTER_TYPE = 'snmp';

/** SNMP error-status 1 (tooBig): the response would not fit the agent's maximum message size (RFC 3416 §4.2.1). */
const ERROR_STATUS_TOO_BIG = 1;
/** SNMP error-status 2 (noSuchName): how an SNMPv1 agent refuses a whole GET for one unknown OID. */
const ERROR_STATUS_NO_SUCH_NAME = 2;
/** net-snmp `ResponseInvalidCode.EAuthFailure`: a USM report (wrong digest, unknown user, ...). */
const RESPONSE_AUTH_FAILURE = 5;
/** net-snmp `ResponseInvalidCode.ECommunityNoMatch`: its message quotes the community sent and the one received. */
const RESPONSE_COMMUNITY_NO_MATCH = 10;
/** What a configured secret is replaced with in error messages. */
const REDACTED = '***';

/** Polls sent at a learnt GET size before one GET twice that size is tried, in case the agent now takes more. */
export const DEFAULT_GROW_PROBE_EVERY = 30;

/** Loads net-snmp on first use, so registering the adapter costs nothing. */
const loadNetSnmp = lazyLoader(() => import('net-snmp').then((m): NetSnmpModule => m.default));

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function isTooBig(err: unknown): boolean {
  return errorName(err) === 'RequestFailedError' && (err as { status?: unknown }).status === ERROR_STATUS_TOO_BIG;
}

/** `items` cut into consecutive slices of at most `size` (all of it in one when `size` is undefined). */
function chunks<T>(items: readonly T[], size: number | undefined): T[][] {
  if (size === undefined || size >= items.length) return [[...items]];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** An answer saying the agent has no such object or instance (v1's noSuchName arrives as noSuchObject here). */
function isNotImplemented(vb: Varbind): boolean {
  return vb.type === SnmpType.NoSuchObject || vb.type === SnmpType.NoSuchInstance || vb.type === SnmpType.EndOfMibView;
}

function isNoSuchName(err: unknown): boolean {
  return errorName(err) === 'RequestFailedError' && (err as { status?: unknown }).status === ERROR_STATUS_NO_SUCH_NAME;
}

/** The secrets of a config that must never reach a message: the community, or the v3 pass phrases. */
function configSecrets(config: SnmpConfig): string[] {
  const all = config.version === 'v3' ? [config.auth_secret, config.privacy_secret] : [config.community];
  // Longest first, so a secret containing another is replaced whole.
  return all.filter((v): v is string => v !== undefined && v !== '').sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each secret replaced by {@link REDACTED}. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}

/** Options of {@link SnmpAdapter} beyond the config. */
export interface SnmpAdapterOptions {
  logger: Logger;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  /**
   * Once a tooBig answer set a GET size, polls between two attempts at twice that size
   * ({@link DEFAULT_GROW_PROBE_EVERY} when absent).
   */
  growProbeEvery?: number;
}

/**
 * Reads SNMP sensors: every configured OID in one GET per poll (walks only for `walk: true` sensors), with the
 * session kept across polls and rebuilt after a failure.
 */
export class SnmpAdapter implements PowerAdapter {
  private readonly config: SnmpConfig;
  private readonly sensors: readonly SnmpSensorSpec[];
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly errors: DeviceErrors;
  private session: Session | undefined;
  /** Raritan decimal digits, by digits OID; read on the first poll and kept. */
  private readonly digits = new Map<string, number>();
  /** For sensors with alternatives: the OID the agent implements, found on the first poll that saw one. */
  private readonly chosenOids = new Map<SnmpSensorSpec, string>();
  /**
   * Most OIDs per GET this agent has answered without tooBig, once it refused a larger one; undefined while every
   * GET fits. Kept for the adapter's life (across sessions) so later polls do not rediscover it.
   */
  private maxOidsPerGet: number | undefined;
  /** Polls sent in chunks of {@link maxOidsPerGet} since it was set or last probed. */
  private pollsAtLimit = 0;
  private readonly growProbeEvery: number;
  /** Configured secrets, removed from every error message. */
  private readonly secrets: readonly string[];

  constructor(config: SnmpConfig, options: SnmpAdapterOptions) {
    this.config = config;
    this.sensors = resolveSnmpSensors(config);
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs;
    this.growProbeEvery = Math.max(1, Math.floor(options.growProbeEvery ?? DEFAULT_GROW_PROBE_EVERY));
    const target = snmpTransport(config.host) === 'udp6' ? `[${config.host}]` : config.host;
    this.errors = new DeviceErrors(ADAPTER_TYPE, `${target}:${config.port}`);
    this.secrets = configSecrets(config);
  }

  /** The sensors this adapter reads (preset ones first). */
  get sensorSpecs(): readonly SnmpSensorSpec[] {
    return this.sensors;
  }

  async read(signal: AbortSignal): Promise<Reading[]> {
    if (signal.aborted) throw this.error('aborted before the read started', { code: 'ER_ABORTED' });
    const snmp = await loadNetSnmp();
    const session = this.session ?? this.openSession(snmp);
    const timestampNs = nowNs();
    const onAbort = (): void => this.dropSession();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const gets = this.sensors.filter((s) => !s.walk);
      const digitOids = gets
        .map((s) => s.digitsOid)
        .filter((o): o is string => o !== undefined && !this.digits.has(o));
      const oids = [...new Set([...gets.flatMap((s) => this.candidateOids(s)), ...digitOids])];
      const values = oids.length === 0 ? new Map<string, Varbind>() : await this.getAll(snmp, session, oids, signal);
      for (const o of digitOids) {
        const vb = values.get(o);
        const d = vb === undefined ? undefined : decodeVarbind(vb.type, vb.value);
        if (d?.ok === true && Number.isInteger(d.value) && d.value >= 0 && d.value < 10) this.digits.set(o, d.value);
        else this.logger.warn({ oid: o }, 'decimal digits not readable; using 0');
      }
      const readings: Reading[] = [];
      for (const s of gets) {
        const vb = this.pickVarbind(s, values);
        if (vb === undefined) {
          this.logger.warn({ sensor: s.name, oid: s.oid }, 'SNMP value skipped: no answer for this OID');
          continue;
        }
        this.pushReading(readings, s, s.name, vb, timestampNs);
      }
      for (const s of this.sensors.filter((x) => x.walk)) {
        const varbinds = await this.walk(session, s.oid, signal);
        if (s.sum === true) {
          this.pushSum(readings, s, varbinds, timestampNs);
          continue;
        }
        for (const vb of varbinds) {
          const suffix = vb.oid.startsWith(`${s.oid}.`) ? vb.oid.slice(s.oid.length + 1) : vb.oid;
          this.pushReading(readings, s, `${s.name}.${suffix}`, vb, timestampNs);
        }
      }
      return readings;
    } catch (err) {
      // A failed exchange can leave a v3 session with a stale engine time or a socket in error: start afresh.
      this.dropSession();
      throw this.translate(err, signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.dropSession();
  }

  /** The OIDs to GET for `s`: the one found on an earlier poll, else the sensor's OID and its alternatives. */
  private candidateOids(s: SnmpSensorSpec): string[] {
    const chosen = this.chosenOids.get(s);
    if (chosen !== undefined) return [chosen];
    return [s.oid, ...(s.alternatives ?? [])];
  }

  /**
   * The varbind to report for `s`: its OID's, or for a sensor with alternatives the first candidate the agent
   * implements (kept for the next polls; forgotten when the agent stops implementing it). Undefined when the GET
   * brought nothing back for any candidate.
   */
  private pickVarbind(s: SnmpSensorSpec, values: ReadonlyMap<string, Varbind>): Varbind | undefined {
    if (s.alternatives === undefined || s.alternatives.length === 0) return values.get(s.oid);
    const answered = this.candidateOids(s)
      .map((o) => values.get(o))
      .filter((vb): vb is Varbind => vb !== undefined);
    const implemented = answered.find((vb) => !isNotImplemented(vb));
    if (implemented === undefined) {
      this.chosenOids.delete(s);
      return answered[0];
    }
    if (this.chosenOids.get(s) !== implemented.oid) {
      this.chosenOids.set(s, implemented.oid);
      if (implemented.oid !== s.oid) {
        this.logger.info({ sensor: s.name, oid: implemented.oid, instead: s.oid }, 'SNMP agent lacks the OID: reading its alternative');
      }
    }
    return implemented;
  }

  private pushReading(out: Reading[], s: SnmpSensorSpec, name: string, vb: Varbind, timestampNs: number): void {
    const decoded = decodeVarbind(vb.type, vb.value);
    if (!decoded.ok) {
      this.logger.warn({ sensor: name, oid: vb.oid, reason: decoded.reason }, `SNMP value skipped: ${decoded.reason}`);
      return;
    }
    if (s.skipNegative === true && !decoded.boolean && decoded.value < 0) {
      const reason = `negative value ${decoded.value}: the device reports the reading as not available`;
      this.logger.warn({ sensor: name, oid: vb.oid, reason }, `SNMP value skipped: ${reason}`);
      return;
    }
    const digits = s.digitsOid === undefined ? 0 : (this.digits.get(s.digitsOid) ?? 0);
    out.push({
      sensor: name,
      unit: decoded.boolean ? 'boolean' : s.unit,
      value: scaleValue(decoded, s.scale, s.offset, digits),
      timestampNs,
      source: vb.oid,
    });
  }

  /**
   * One reading for a summed walk: every row must be a usable number, since a sum missing a row (a phase, an
   * output line) would pass for the total.
   */
  private pushSum(out: Reading[], s: SnmpSensorSpec, varbinds: readonly Varbind[], timestampNs: number): void {
    const skip = (oid: string, reason: string): void => {
      this.logger.warn({ sensor: s.name, oid, reason }, `SNMP value skipped: ${reason}`);
    };
    if (varbinds.length === 0) return skip(s.oid, 'the walk returned no rows');
    let total = 0;
    for (const vb of varbinds) {
      const decoded = decodeVarbind(vb.type, vb.value);
      if (!decoded.ok) return skip(vb.oid, `row ${vb.oid}: ${decoded.reason}; a sum without it would be wrong`);
      if (s.skipNegative === true && decoded.value < 0) {
        return skip(vb.oid, `row ${vb.oid}: negative value ${decoded.value}, not available; a sum without it would be wrong`);
      }
      total += decoded.value;
    }
    const value = scaleValue({ value: total, boolean: false }, s.scale, s.offset);
    out.push({ sensor: s.name, unit: s.unit, value, timestampNs, source: s.oid });
  }

  private openSession(snmp: NetSnmpModule): Session {
    const common = {
      port: this.config.port,
      transport: snmpTransport(this.config.host),
      timeout: this.timeoutMs,
      retries: this.config.retries,
      backoff: 1,
    };
    let session: Session;
    if (this.config.version === 'v3') {
      const u = resolveV3User(this.config);
      const level =
        u.authProtocol === 'none'
          ? snmp.SecurityLevel.noAuthNoPriv
          : u.privProtocol === 'none'
            ? snmp.SecurityLevel.authNoPriv
            : snmp.SecurityLevel.authPriv;
      const user: NetSnmp.User = { name: u.name, level };
      if (u.authProtocol !== 'none') {
        user.authProtocol = snmp.AuthProtocols[u.authProtocol];
        user.authKey = u.authKey ?? '';
      }
      if (u.privProtocol !== 'none') {
        user.privProtocol = snmp.PrivProtocols[u.privProtocol];
        user.privKey = u.privKey ?? '';
      }
      session = snmp.createV3Session(this.config.host, user, { ...common, version: snmp.Version3 });
    } else {
      session = snmp.createSession(this.config.host, this.config.community, {
        ...common,
        version: this.config.version === 'v1' ? snmp.Version1 : snmp.Version2c,
      });
    }
    // Socket errors also reach the pending request's callback; this only keeps them from crashing the process.
    session.on('error', (err) => this.logger.debug({ err: redact(err.message, this.secrets) }, 'SNMP session socket error'));
    this.session = session;
    return session;
  }

  private dropSession(): void {
    const s = this.session;
    this.session = undefined;
    if (s === undefined) return;
    try {
      s.close();
    } catch {
      // already closed
    }
  }

  private get(session: Session, oids: string[]): Promise<Varbind[]> {
    return new Promise((resolve, reject) => {
      session.get(oids, (err, varbinds) => (err ? reject(err) : resolve(varbinds ?? [])));
    });
  }

  /** The largest GET size learnt from tooBig answers (undefined: no limit seen yet). */
  get oidsPerGet(): number | undefined {
    return this.maxOidsPerGet;
  }

  private async getAll(snmp: NetSnmpModule, session: Session, oids: string[], signal: AbortSignal): Promise<Map<string, Varbind>> {
    const out = new Map<string, Varbind>();
    let rest = oids;
    const limit = this.maxOidsPerGet;
    if (limit !== undefined && limit < oids.length && ++this.pollsAtLimit >= this.growProbeEvery) {
      this.pollsAtLimit = 0;
      const size = Math.min(oids.length, limit * 2);
      const answered = await this.probeGet(session, oids.slice(0, size), signal);
      if (answered !== undefined) {
        this.maxOidsPerGet = size >= oids.length ? undefined : size;
        this.logger.info({ oidsPerGet: this.maxOidsPerGet ?? 'all', was: limit }, 'SNMP agent answered a larger GET: growing GETs');
        for (const vb of answered) out.set(vb.oid, vb);
        rest = oids.slice(size);
      }
    }
    for (const chunk of rest.length === 0 ? [] : chunks(rest, this.maxOidsPerGet)) {
      for (const vb of await this.getChunk(snmp, session, chunk, signal, oids.length > 1)) out.set(vb.oid, vb);
    }
    return out;
  }

  /**
   * One GET larger than the learnt size, to see whether the agent takes it now (its values got shorter, or it was
   * reconfigured). Undefined when the agent refused it with an error status (tooBig, or noSuchName from a v1 agent,
   * which proves nothing): the caller then asks in chunks of the learnt size. A timeout fails the poll as usual.
   */
  private async probeGet(session: Session, oids: string[], signal: AbortSignal): Promise<Varbind[] | undefined> {
    try {
      return await this.abortable(this.get(session, oids), signal);
    } catch (err) {
      if (errorName(err) !== 'RequestFailedError') throw err;
      this.logger.debug({ oids: oids.length, status: (err as { status?: unknown }).status }, 'SNMP larger GET refused: keeping the learnt size');
      return undefined;
    }
  }

  /**
   * One GET for `oids`, split in halves (recursively, in order) while the agent answers tooBig. `partOfMany`: the
   * poll asks for other OIDs too, so one unknown to a v1 agent must not fail the others.
   */
  private async getChunk(snmp: NetSnmpModule, session: Session, oids: string[], signal: AbortSignal, partOfMany: boolean): Promise<Varbind[]> {
    try {
      return await this.abortable(this.get(session, oids), signal);
    } catch (err) {
      if (isTooBig(err)) return this.splitTooBig(snmp, session, oids, signal, partOfMany, err);
      if (!(isNoSuchName(err) && partOfMany)) throw err;
    }
    const [only] = oids;
    if (oids.length === 1 && only !== undefined) return [{ oid: only, type: snmp.ObjectType.NoSuchObject, value: null }];
    // SNMPv1 fails the whole GET when one OID is unknown; ask one by one so the others still count.
    this.logger.debug({ oids: oids.length }, 'SNMPv1 noSuchName: retrying the OIDs one by one');
    const out: Varbind[] = [];
    for (const o of oids) out.push(...(await this.getChunk(snmp, session, [o], signal, true)));
    return out;
  }

  private async splitTooBig(
    snmp: NetSnmpModule,
    session: Session,
    oids: string[],
    signal: AbortSignal,
    partOfMany: boolean,
    cause: unknown,
  ): Promise<Varbind[]> {
    const [only] = oids;
    if (oids.length <= 1) {
      throw this.error(`agent answers tooBig even for the single OID ${only ?? '(none)'}: its value does not fit the agent's maximum message size`, {
        code: 'ER_SNMP_TOO_BIG',
        retryable: false,
        cause,
      });
    }
    const half = Math.ceil(oids.length / 2);
    if (this.maxOidsPerGet === undefined || half < this.maxOidsPerGet) {
      this.maxOidsPerGet = half;
      this.pollsAtLimit = 0;
      this.logger.info({ refused: oids.length, oidsPerGet: half }, 'SNMP agent answered tooBig: splitting GETs');
    }
    const first = await this.getChunk(snmp, session, oids.slice(0, half), signal, partOfMany);
    const second = await this.getChunk(snmp, session, oids.slice(half), signal, partOfMany);
    return [...first, ...second];
  }

  private walk(session: Session, oid: string, signal: AbortSignal): Promise<Varbind[]> {
    const found: Varbind[] = [];
    const p = new Promise<Varbind[]>((resolve, reject) => {
      session.subtree(
        oid,
        20,
        (varbinds: Varbind[]) => {
          found.push(...varbinds);
        },
        (err: Error | null) => (err ? reject(err) : resolve(found)),
      );
    });
    return this.abortable(p, signal);
  }

  private abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(new Error('aborted', { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  private error(message: string, opts: DeviceErrorOptions): AdapterError {
    return this.errors.error(message, opts);
  }

  /**
   * A copy of a net-snmp error safe to keep as `cause`: message and stack with the secrets redacted, and without
   * `info` (a v3 authentication failure puts the whole user there, keys included).
   */
  private safeCause(err: unknown): Error {
    const safe = new Error(redact(errorMessage(err), this.secrets));
    safe.name = errorName(err) || 'Error';
    if (err instanceof Error && err.stack !== undefined) safe.stack = redact(err.stack, this.secrets);
    const { code, status } = err as { code?: unknown; status?: unknown };
    if (typeof code === 'number' || typeof code === 'string') Object.assign(safe, { code });
    if (typeof status === 'number') Object.assign(safe, { status });
    return safe;
  }

  private translate(raw: unknown, signal: AbortSignal): AdapterError {
    if (raw instanceof AdapterError) return raw;
    // net-snmp messages may quote the community (or, in `info`, a v3 user's keys): keep none of it.
    const err = this.safeCause(raw);
    const common = this.errors.common(err, signal);
    if (common !== undefined) return common;
    const name = err.name;
    const message = err.message;
    if (name === 'RequestTimedOutError') {
      // Net-SNMP agents send no report for a message they cannot decrypt, nor any answer to an unknown community.
      const hint =
        this.config.version !== 'v3'
          ? 'agent down or unreachable, or wrong community (agents drop requests with an unknown community)'
          : resolveV3User(this.config).privProtocol !== 'none'
            ? 'agent down or unreachable, or wrong privacy key or protocol (agents drop what they cannot decrypt)'
            : 'agent down or unreachable';
      return this.error(`no answer within ${this.timeoutMs} ms x ${this.config.retries + 1} tries (${hint})`, {
        code: 'ER_SNMP_TIMEOUT',
        cause: err,
      });
    }
    if (name === 'ResponseInvalidError' && (err as { code?: unknown }).code === RESPONSE_AUTH_FAILURE) {
      return this.error(`SNMPv3 authentication refused: ${message} (check username, protocols and secrets)`, {
        code: 'ER_SNMP_AUTH',
        retryable: false,
        cause: err,
      });
    }
    if (name === 'ResponseInvalidError' && (err as { code?: unknown }).code === RESPONSE_COMMUNITY_NO_MATCH) {
      // The agent (or a proxy or NAT in front of it) answered with another community than the one sent.
      // No cause: net-snmp's message quotes both communities, and the answer's may be a secret too.
      return this.error('SNMP answer refused: the community in the answer does not match the configured one', { code: 'ER_SNMP' });
    }
    if (name === 'RequestFailedError') {
      return this.error(`agent refused the request: ${message}`, { code: 'ER_SNMP_REQUEST', cause: err });
    }
    return this.error(`SNMP exchange failed: ${message}`, { code: 'ER_SNMP', cause: err });
  }
}

/**
 * The `snmp` adapter: SNMP v1, v2c and v3 (USM, every auth and privacy protocol `net-snmp` implements) with the
 * original's keys, per-sensor scaling and PDU presets.
 */
export const snmpAdapterDefinition: AdapterDefinition<typeof snmpConfigSchema> = Object.freeze({
  type: ADAPTER_TYPE,
  description: 'SNMP v1/v2c/v3 agents and rack PDUs (presets for APC, Raritan, ServerTech, Eaton)',
  configSchema: snmpConfigSchema,
  create(config: SnmpConfig, ctx: AdapterContext): PowerAdapter {
    // The collector's request timeout is also its deadline for the whole read: each try gets its share, so the
    // resends `retries` asks for happen before the read is abandoned. An explicit `timeout` is per try.
    const fromCollector = config.timeout === undefined && ctx.requestTimeoutMs > 0;
    const timeoutMs = fromCollector
      ? Math.max(1, Math.floor(ctx.requestTimeoutMs / (config.retries + 1)))
      : deviceTimeoutMs(config.timeout, ctx, DEFAULT_SNMP.timeoutS);
    return new SnmpAdapter(config, { logger: ctx.logger, timeoutMs });
  },
});
