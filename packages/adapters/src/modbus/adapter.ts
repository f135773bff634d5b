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
  planReads,
  registerCount,
  scaleRegisterValue,
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

function exceptionCode(err: unknown): number | undefined {
  const code = (err as { modbusCode?: unknown } | null)?.modbusCode;
  return typeof code === 'number' ? code : undefined;
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
 * refuses (a hole in its register map) is split into one request per sensor from then on.
 */
export class ModbusAdapter implements PowerAdapter {
  private readonly config: ModbusConfig;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly errors: DeviceErrors;
  private client: ModbusClient | undefined;
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
    const onAbort = (): void => this.dropClient();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        return await this.readOnce(signal);
      } catch (err) {
        if (signal.aborted || err instanceof AdapterError) throw err;
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

  async close(): Promise<void> {
    this.dropClient();
  }

  private async readOnce(signal: AbortSignal): Promise<Reading[]> {
    const client = await this.connect();
    const timestampNs = nowNs();
    const readings: Reading[] = [];
    const nextGroups: ModbusReadGroup[] = [];
    await this.readGroups(client, this.groups, signal, timestampNs, readings, nextGroups);
    this.groups = nextGroups;
    return readings;
  }

  /**
   * Reads `groups`, collecting values and the plan to keep. A request the device refuses with an exception is
   * split: first into the contiguous runs it merged across a hole, then, if a run is refused too, into one
   * request per sensor. The split plan is kept for the following polls.
   */
  private async readGroups(
    client: ModbusClient,
    groups: readonly ModbusReadGroup[],
    signal: AbortSignal,
    timestampNs: number,
    readings: Reading[],
    nextGroups: ModbusReadGroup[],
  ): Promise<void> {
    for (const group of groups) {
      if (signal.aborted) throw new Error('aborted');
      try {
        const words = await this.readGroup(client, group);
        nextGroups.push(group);
        this.collect(group, words, timestampNs, readings);
      } catch (err) {
        const code = exceptionCode(err);
        if (code === undefined) throw err;
        if (group.sensors.length === 1) {
          nextGroups.push(group);
          for (const i of group.sensors) this.skip(i, code);
          continue;
        }
        this.logger.info({ start: group.start, count: group.count, exception: code }, 'Modbus device refused a merged read; splitting it');
        await this.readGroups(client, this.split(group), signal, timestampNs, readings, nextGroups);
      }
    }
  }

  /** The contiguous runs of a group merged across holes; one group per sensor when it had no hole. */
  private split(group: ModbusReadGroup): ModbusReadGroup[] {
    const inputs = group.sensors.map((i) => this.planInputs[i]).filter((x): x is ModbusPlanInput => x !== undefined);
    const runs = planReads(inputs, { maxGap: 0 });
    if (runs.length > 1) return runs.map((r) => ({ ...r, sensors: r.sensors.map((j) => group.sensors[j] ?? -1) }));
    return group.sensors.map((i) => {
      const s = this.config.sensors[i];
      if (s === undefined) throw new Error(`no sensor ${i}`);
      return { unitId: group.unitId, category: group.category, start: s.register_address, count: registerCount(s.register_type), sensors: [i] };
    });
  }

  private skip(index: number, code: number): void {
    const s = this.config.sensors[index];
    this.logger.warn(
      { sensor: s?.name, address: s?.register_address, exception: code },
      `Modbus sensor skipped: device exception ${code} (${EXCEPTION_NAMES[code] ?? 'unknown'})`,
    );
  }

  private collect(group: ModbusReadGroup, words: readonly number[], timestampNs: number, out: Reading[]): void {
    for (const i of group.sensors) {
      const s = this.config.sensors[i];
      if (s === undefined) continue;
      const offset = s.register_address - group.start;
      const slice = words.slice(offset, offset + registerCount(s.register_type));
      if (slice.length < registerCount(s.register_type)) {
        this.logger.warn({ sensor: s.name }, 'Modbus sensor skipped: short answer from the device');
        continue;
      }
      const raw = decodeRegisters(slice, s.register_type, s.register_order);
      if (!Number.isFinite(raw)) {
        this.logger.warn({ sensor: s.name, raw }, 'Modbus sensor skipped: not a finite number');
        continue;
      }
      out.push({
        sensor: s.name,
        unit: s.unit,
        value: scaleRegisterValue(raw, s.register_scaling),
        timestampNs,
        source: `${s.register_category}:${s.register_address}`,
      });
    }
  }

  private async readGroup(client: ModbusClient, group: ModbusReadGroup): Promise<number[]> {
    client.setID(group.unitId);
    this.requests += 1;
    const result =
      group.category === 'holding'
        ? await client.readHoldingRegisters(group.start, group.count)
        : await client.readInputRegisters(group.start, group.count);
    return result.data;
  }

  private async connect(): Promise<ModbusClient> {
    if (this.client !== undefined && this.client.isOpen) return this.client;
    this.dropClient();
    const ModbusRTU = await loadModbus();
    const client = new ModbusRTU();
    client.setTimeout(this.timeoutMs);
    // Socket errors also fail the pending request; this keeps an unhandled 'error' event from crashing.
    client.on('error', (err: unknown) => this.logger.debug({ err: String(err) }, 'Modbus socket error'));
    // Forget a connection the device closed, so the next poll reconnects instead of waiting for a timeout.
    client.on('close', () => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    const opts = { port: this.config.port, timeout: this.timeoutMs };
    // modbus-serial's "TcpRTUBuffered" port still puts MBAP headers on the wire; its Telnet port is the one that
    // sends raw RTU frames with CRC over TCP, which is what serial gateways and pymodbus' RTU framer speak.
    if (this.config.framer === 'RTU') await client.connectTelnet(this.config.address, opts);
    else await client.connectTCP(this.config.address, opts);
    return client;
  }

  private dropClient(): void {
    const c = this.client;
    this.client = undefined;
    if (c === undefined) return;
    try {
      c.close(() => undefined);
    } catch {
      // already closed
    }
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
    if (name === 'TransactionTimedOutError' || errno === 'ETIMEDOUT') {
      return this.error(`no answer within ${this.timeoutMs} ms (device down, wrong unit id or wrong framer)`, {
        code: 'ER_MODBUS_TIMEOUT',
        cause: err,
      });
    }
    if (errno === 'ECONNREFUSED' || errno === 'ECONNRESET' || errno === 'EHOSTUNREACH' || name === 'PortNotOpenError') {
      return this.error(`connection failed: ${message}`, { code: 'ER_MODBUS_CONNECT', cause: err });
    }
    return this.error(`Modbus exchange failed: ${message}`, { code: 'ER_MODBUS', cause: err });
  }
}

/** The `modbus` adapter: Modbus TCP / RTU-over-TCP registers with the original's keys. */
export const modbusAdapterDefinition: AdapterDefinition<typeof modbusConfigSchema> = Object.freeze({
  type: ADAPTER_TYPE,
  description: 'Modbus TCP (or RTU over TCP) meters: holding/input registers, int16/32, uint16/32, float32',
  configSchema: modbusConfigSchema,
  create(config: ModbusConfig, ctx: AdapterContext): PowerAdapter {
    const timeoutMs = deviceTimeoutMs(config.timeout, ctx, DEFAULT_MODBUS.timeoutS);
    return new ModbusAdapter(config, { logger: ctx.logger, timeoutMs });
  },
});
