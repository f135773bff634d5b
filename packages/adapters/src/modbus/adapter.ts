import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
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
import { DEFAULT_MODBUS, modbusConfigSchema, type ModbusConfig } from './config.js';
import {
  decodeRegisters,
  decodeSunSpecScaleFactor,
  isSunSpecNotImplemented,
  planReads,
  registerCount,
  scaleRegisterValue,
  sensorSpan,
  type ModbusPlanInput,
  type ModbusReadGroup,
} from './decode.js';

type ModbusClientClass = new () => ModbusClient;

const ADAPTER_TYPE = 'modbus';

/** Loads modbus-serial on first use, so registering the adapter costs nothing. */
const loadModbus = lazyLoader(() =>
  // The package's typings declare an ES default export, but it sets `module.exports = ModbusRTU`: depending on
  // the loader the class is `default` or `default.default`.
  import('modbus-serial').then((m): ModbusClientClass => {
    const outer = (m as unknown as { default?: unknown }).default;
    const cls = typeof outer === 'function' ? outer : (outer as { default?: unknown } | undefined)?.default;
    if (typeof cls !== 'function') throw new Error('modbus-serial exports no client class');
    return cls as ModbusClientClass;
  }),
);

/** Standard exception codes (Modbus Application Protocol v1.1b3 §7). */
const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/**
 * Exceptions refusing the requested range itself (a hole in the register map, a range the device will not serve):
 * the only ones worth splitting a merged request for.
 */
const ADDRESS_EXCEPTIONS: ReadonlySet<number> = new Set([2, 3]);
/** The device does not implement the function (register category): no request of that kind can succeed. */
const ILLEGAL_FUNCTION = 1;
/** The gateway cannot reach the device behind it. */
const GATEWAY_EXCEPTIONS: ReadonlySet<number> = new Set([10, 11]);

function exceptionCode(err: unknown): number | undefined {
  const code = (err as { modbusCode?: unknown } | null)?.modbusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The state of the device or gateway (busy, failed, target unreachable) rather than a refusal of the request. */
function isDeviceException(code: number): boolean {
  return code !== ILLEGAL_FUNCTION && !ADDRESS_EXCEPTIONS.has(code);
}

function exceptionText(code: number): string {
  return `${code} (${EXCEPTION_NAMES[code] ?? 'unknown'})`;
}

/** Opening the TCP connection took longer than the timeout (a device that drops SYNs, a filtered port). */
class ConnectTimeoutError extends Error {
  override name = 'ConnectTimeoutError';
}

/** The connection was dropped (abort, close()) while a request or the connect was pending. */
class ConnectionDroppedError extends Error {
  override name = 'ConnectionDroppedError';
}

/**
 * Settles with `promise`, or rejects as soon as one of `signals` fires or `timeout.ms` passes. modbus-serial
 * forgets a pending connect or request when its socket is destroyed, so nothing may wait for it alone.
 */
function settleWithin<T>(
  promise: Promise<T>,
  signals: readonly AbortSignal[],
  timeout?: { ms: number; error: () => Error },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      reject(new ConnectionDroppedError('Modbus connection dropped while waiting for the device'));
    };
    if (signals.some((s) => s.aborted)) return onAbort();
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
    if (timeout !== undefined && timeout.ms > 0) {
      timer = setTimeout(() => {
        cleanup();
        reject(timeout.error());
      }, timeout.ms);
    }
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        // As thrown: modbus-serial's errors are not `Error`s, and translate() reads their name and errno.
        reject(err);
      },
    );
  });
}

/** One open (or opening) connection; `dropped` fires when the adapter destroys it. */
interface Session {
  client: ModbusClient;
  dropped: AbortController;
}

/** What one pass over the read plan produced. */
interface PollState {
  signal: AbortSignal;
  timestampNs: number;
  readings: Reading[];
  /** The plan to keep for the following polls. */
  nextGroups: ModbusReadGroup[];
  /** Device or gateway exceptions (busy, failure, target unreachable) that cost sensors this poll. */
  deviceExceptions: number[];
}

/** Options of {@link ModbusAdapter} beyond the config. */
export interface ModbusAdapterOptions {
  logger: Logger;
  /** Per-request timeout in ms. */
  timeoutMs: number;
}

/**
 * Reads Modbus TCP (or RTU-over-TCP) registers. One connection is kept across polls and re-opened when it
 * fails; sensors are read in as few requests as the register layout allows, and a merged request the device
 * refuses with an address exception (a hole in its register map) is split into one request per sensor from then
 * on. A merged request refused with another exception is read in parts; the split is kept only if a part is read,
 * so transient device and gateway exceptions (busy, failure, target unreachable) leave the plan as it was; when
 * they leave no sensor read, the poll fails with `ER_MODBUS_DEVICE` or `ER_MODBUS_GATEWAY`.
 */
export class ModbusAdapter implements PowerAdapter {
  private readonly config: ModbusConfig;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly errors: DeviceErrors;
  private session: Session | undefined;
  private readonly planInputs: readonly ModbusPlanInput[];
  private groups: ModbusReadGroup[];
  private requests = 0;

  constructor(config: ModbusConfig, options: ModbusAdapterOptions) {
    this.config = config;
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs;
    this.errors = new DeviceErrors(ADAPTER_TYPE, `${config.address}:${config.port}`);
    this.planInputs = config.sensors.map((s) => ({
      unitId: s.device_unit ?? DEFAULT_MODBUS.unitId,
      category: s.register_category,
      address: s.register_address,
      type: s.register_type,
      scaleFactorAddress: s.scale_factor_address,
    }));
    this.groups = planReads(this.planInputs, { maxGap: config.max_gap });
  }

  /** Read requests sent so far (for diagnostics and tests). */
  get requestCount(): number {
    return this.requests;
  }

  /** The current read plan. */
  get plan(): readonly ModbusReadGroup[] {
    return this.groups;
  }

  async read(signal: AbortSignal): Promise<Reading[]> {
    if (signal.aborted) throw this.error('aborted before the read started', { code: 'ER_ABORTED' });
    const poll = await this.poll(signal);
    // The connection is fine: the device (or the one behind the gateway) could not serve any sensor right now.
    if (poll.readings.length === 0 && poll.deviceExceptions.length > 0) throw this.exceptionError(poll.deviceExceptions);
    return poll.readings;
  }

  async close(): Promise<void> {
    this.dropClient();
  }

  private async poll(signal: AbortSignal): Promise<PollState> {
    const onAbort = (): void => this.dropClient();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const reused = this.session?.client.isOpen === true;
      try {
        return await this.readOnce(signal);
      } catch (err) {
        if (signal.aborted || err instanceof AdapterError || err instanceof ConnectionDroppedError || !reused) throw err;
        // The kept connection may have been closed by the device since the last poll: reconnect once.
        this.logger.debug({ err: errorMessage(err) }, 'Modbus connection failed; reconnecting');
        this.dropClient();
        return await this.readOnce(signal);
      }
    } catch (err) {
      this.dropClient();
      throw this.translate(err, signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async readOnce(signal: AbortSignal): Promise<PollState> {
    const session = await this.connect(signal);
    const poll: PollState = { signal, timestampNs: nowNs(), readings: [], nextGroups: [], deviceExceptions: [] };
    await this.readGroups(session, this.groups, poll);
    this.groups = poll.nextGroups;
    return poll;
  }

  /**
   * Reads `groups`, collecting values and the plan to keep. A merged request the device refuses with an address
   * exception (2, 3) is split: first into the contiguous runs it merged across a hole, then, if a run is refused
   * too, into one request per sensor; the split plan is kept for the following polls. A merged request refused
   * with any other exception is split the same way for this poll; the split is kept only if a part was read (the
   * merged request was the problem, e.g. a hole reported as exception 1 or 4). When the parts fail with device or
   * gateway exceptions too and none is read, the exception was transient: the merged group is kept as it is.
   */
  private async readGroups(session: Session, groups: readonly ModbusReadGroup[], poll: PollState): Promise<void> {
    for (const group of groups) {
      if (poll.signal.aborted) throw new Error('aborted');
      let words: number[];
      try {
        words = await this.readGroup(session, group, poll.signal);
      } catch (err) {
        const code = exceptionCode(err);
        if (code === undefined) throw err;
        if (group.sensors.length > 1) {
          if (ADDRESS_EXCEPTIONS.has(code)) {
            this.logger.info({ start: group.start, count: group.count, exception: code }, 'Modbus device refused a merged read; splitting it');
            await this.readGroups(session, this.split(group), poll);
            continue;
          }
          // Some devices report a hole with another exception (1, 4, ...), while busy or gateway exceptions are
          // transient: read the parts now, and keep them split only if they succeed where the merged read did not.
          const parts: PollState = { ...poll, nextGroups: [] };
          const read = poll.readings.length;
          const failed = poll.deviceExceptions.length;
          await this.readGroups(session, this.split(group), parts);
          const transient = poll.readings.length === read && poll.deviceExceptions.length > failed;
          if (transient) {
            poll.nextGroups.push(group);
          } else {
            this.logger.info({ start: group.start, count: group.count, exception: code }, 'Modbus device refused a merged read; splitting it');
            poll.nextGroups.push(...parts.nextGroups);
          }
          continue;
        }
        poll.nextGroups.push(group);
        if (isDeviceException(code)) poll.deviceExceptions.push(code);
        for (const i of group.sensors) this.skip(i, code);
        continue;
      }
      poll.nextGroups.push(group);
      this.collect(group, words, poll.timestampNs, poll.readings);
    }
  }

  /** The contiguous runs of a group merged across holes; one group per sensor when it had no hole. */
  private split(group: ModbusReadGroup): ModbusReadGroup[] {
    const inputs = group.sensors.map((i) => this.planInputs[i]).filter((x): x is ModbusPlanInput => x !== undefined);
    const runs = planReads(inputs, { maxGap: 0 });
    if (runs.length > 1) return runs.map((r) => ({ ...r, sensors: r.sensors.map((j) => group.sensors[j] ?? -1) }));
    return group.sensors.map((i) => {
      const s = this.planInputs[i];
      if (s === undefined) throw new Error(`no sensor ${i}`);
      const span = sensorSpan(s);
      return { unitId: group.unitId, category: group.category, start: span.start, count: span.end - span.start, sensors: [i] };
    });
  }

  private skip(index: number, code: number): void {
    const s = this.config.sensors[index];
    this.logger.warn(
      { sensor: s?.name, address: s?.register_address, exception: code },
      `Modbus sensor skipped: device exception ${exceptionText(code)}`,
    );
  }

  private collect(group: ModbusReadGroup, words: readonly number[], timestampNs: number, out: Reading[]): void {
    for (const i of group.sensors) {
      const s = this.config.sensors[i];
      if (s === undefined) continue;
      const offset = s.register_address - group.start;
      const slice = words.slice(offset, offset + registerCount(s.register_type));
      const sfWord = s.scale_factor_address === undefined ? undefined : words[s.scale_factor_address - group.start];
      if (slice.length < registerCount(s.register_type) || (s.scale_factor_address !== undefined && sfWord === undefined)) {
        this.logger.warn({ sensor: s.name }, 'Modbus sensor skipped: short answer from the device');
        continue;
      }
      let exponent = 0;
      if (sfWord !== undefined) {
        // SunSpec: 0x8000 marks a value or scale factor the device does not implement.
        const sf = decodeSunSpecScaleFactor(sfWord);
        if (sf === undefined || isSunSpecNotImplemented(slice, s.register_type, s.register_order)) {
          this.logger.warn(
            { sensor: s.name, address: s.register_address, scaleFactor: sfWord },
            'Modbus sensor skipped: SunSpec value or scale factor not implemented',
          );
          continue;
        }
        exponent = sf;
      }
      const raw = decodeRegisters(slice, s.register_type, s.register_order);
      if (!Number.isFinite(raw)) {
        this.logger.warn({ sensor: s.name, raw }, 'Modbus sensor skipped: not a finite number');
        continue;
      }
      out.push({
        sensor: s.name,
        unit: s.unit,
        value: scaleRegisterValue(raw, s.register_scaling, exponent),
        timestampNs,
        source: `${s.register_category}:${s.register_address}`,
      });
    }
  }

  private async readGroup(session: Session, group: ModbusReadGroup, signal: AbortSignal): Promise<number[]> {
    const { client } = session;
    client.setID(group.unitId);
    this.requests += 1;
    const request =
      group.category === 'holding' ? client.readHoldingRegisters(group.start, group.count) : client.readInputRegisters(group.start, group.count);
    // modbus-serial's own timeout fails the request; a dropped connection must fail it at once too.
    const result = await settleWithin(request, [signal, session.dropped.signal]);
    return result.data;
  }

  private async connect(signal: AbortSignal): Promise<Session> {
    if (this.session !== undefined && this.session.client.isOpen) return this.session;
    this.dropClient();
    const ModbusRTU = await loadModbus();
    const client = new ModbusRTU();
    client.setTimeout(this.timeoutMs);
    // Socket errors also fail the pending request; this keeps an unhandled 'error' event from crashing.
    client.on('error', (err: unknown) => this.logger.debug({ err: String(err) }, 'Modbus socket error'));
    const session: Session = { client, dropped: new AbortController() };
    // Forget a connection the device closed, so the next poll reconnects instead of waiting for a timeout.
    client.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    const opts = { port: this.config.port, timeout: this.timeoutMs };
    // modbus-serial's "TcpRTUBuffered" port still puts MBAP headers on the wire; its Telnet port is the one that
    // sends raw RTU frames with CRC over TCP, which is what serial gateways and pymodbus' RTU framer speak.
    const opening = this.config.framer === 'RTU' ? client.connectTelnet(this.config.address, opts) : client.connectTCP(this.config.address, opts);
    // The pending connect is forgotten by modbus-serial once its socket is closed or destroyed: wait for the abort
    // signal and the timeout here, and let the caller destroy the socket.
    await settleWithin(opening, [signal, session.dropped.signal], {
      ms: this.timeoutMs,
      error: () => new ConnectTimeoutError(`no connection within ${this.timeoutMs} ms`),
    });
    return session;
  }

  /** Destroys the connection (a graceful close would leave a socket that never connected pending) and fails what waits on it. */
  private dropClient(): void {
    const s = this.session;
    this.session = undefined;
    if (s === undefined) return;
    s.dropped.abort();
    try {
      s.client.destroy(() => undefined);
    } catch {
      // already closed
    }
  }

  /** The error of a poll in which device or gateway exceptions left no sensor read. */
  private exceptionError(codes: readonly number[]): AdapterError {
    const list = [...new Set(codes)].map(exceptionText).join(', ');
    if (codes.every((c) => GATEWAY_EXCEPTIONS.has(c))) {
      return this.error(`no sensor read: the gateway cannot reach the device (exception ${list})`, { code: 'ER_MODBUS_GATEWAY' });
    }
    return this.error(`no sensor read: the device is busy or failing (exception ${list})`, { code: 'ER_MODBUS_DEVICE' });
  }

  private error(message: string, opts: DeviceErrorOptions): AdapterError {
    return this.errors.error(message, opts);
  }

  private translate(err: unknown, signal: AbortSignal): AdapterError {
    const common = this.errors.common(err, signal);
    if (common !== undefined) return common;
    const name = err instanceof Error ? err.name : '';
    const message = errorMessage(err);
    // Node socket errors carry the symbolic name in `code`; modbus-serial's own errors put it in `errno`.
    const e = err as { errno?: unknown; code?: unknown } | null;
    const errno = typeof e?.code === 'string' ? e.code : e?.errno;
    if (name === 'ConnectTimeoutError' || message === 'TCP Connection Timed Out') {
      return this.error(`no connection within ${this.timeoutMs} ms (device down or port filtered)`, { code: 'ER_MODBUS_TIMEOUT', cause: err });
    }
    if (name === 'TransactionTimedOutError' || errno === 'ETIMEDOUT') {
      return this.error(`no answer within ${this.timeoutMs} ms (device down, wrong unit id or wrong framer)`, {
        code: 'ER_MODBUS_TIMEOUT',
        cause: err,
      });
    }
    if (
      errno === 'ECONNREFUSED' ||
      errno === 'ECONNRESET' ||
      errno === 'EHOSTUNREACH' ||
      name === 'PortNotOpenError' ||
      name === 'ConnectionDroppedError'
    ) {
      return this.error(`connection failed: ${message}`, { code: 'ER_MODBUS_CONNECT', cause: err });
    }
    return this.error(`Modbus exchange failed: ${message}`, { code: 'ER_MODBUS', cause: err });
  }
}

/** The `modbus` adapter: Modbus TCP / RTU-over-TCP registers with the original's keys. */
export const modbusAdapterDefinition: AdapterDefinition<typeof modbusConfigSchema> = Object.freeze({
  type: ADAPTER_TYPE,
  description: 'Modbus TCP (or RTU over TCP) meters: holding/input registers, int16/32/64, uint16/32/64, float32/64, SunSpec scale factors',
  configSchema: modbusConfigSchema,
  create(config: ModbusConfig, ctx: AdapterContext): PowerAdapter {
    const timeoutMs = deviceTimeoutMs(config.timeout, ctx, DEFAULT_MODBUS.timeoutS);
    return new ModbusAdapter(config, { logger: ctx.logger, timeoutMs });
  },
});
