import { Socket } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import { AdapterError, noopLogger, type LogFields, type Logger, type PowerAdapter, type Reading } from '@energyrecorder/core';
import { getFreePort } from '@energyrecorder/testkit';
import { ModbusAdapter, modbusAdapterDefinition } from '../../src/modbus/adapter.js';
import { modbusConfigSchema } from '../../src/modbus/config.js';
import { warningsLogger } from '../fakes/capture-logger.js';

type Cb<T> = (err: Error | null, value: T) => void;

/** modbus-serial's server turns an error with `modbusErrorCode` into an exception response. */
const illegalAddress = (): Error => Object.assign(new Error('Illegal data address'), { modbusErrorCode: 2 });
const modbusException = (code: number): Error => Object.assign(new Error(`Modbus exception ${code}`), { modbusErrorCode: code });

/** A meter on 127.0.0.1 built on modbus-serial's ServerTCP: register maps per unit id, request counter. */
class FakeMeter {
  readonly holding = new Map<number, number>();
  readonly input = new Map<number, number>();
  /** Holding registers answered for unit ids other than 1 (a gateway in front of several meters). */
  readonly holdingByUnit = new Map<number, Map<number, number>>();
  requests = 0;
  /**
   * When set, a request it returns a code for is answered with that Modbus exception (busy, gateway, ...), and
   * one it returns `'silent'` for is never answered.
   */
  exceptionFor: ((unit: number, addr: number, length: number) => number | 'silent' | undefined) | undefined;
  server!: ServerTCP;
  port = 0;

  async start(): Promise<void> {
    this.port = await getFreePort();
    const many =
      (defaultTable: Map<number, number>) =>
      (addr: number, length: number, unit: number, cb: Cb<number[]>): void => {
        this.requests += 1;
        const exception = this.exceptionFor?.(unit, addr, length);
        if (exception === 'silent') return;
        if (exception !== undefined) return cb(modbusException(exception), []);
        const table = this.tableFor(defaultTable, unit);
        const values: number[] = [];
        for (let a = addr; a < addr + length; a++) {
          const v = table.get(a);
          if (v === undefined) return cb(illegalAddress(), []);
          values.push(v);
        }
        cb(null, values);
      };
    const one =
      (defaultTable: Map<number, number>) =>
      (addr: number, unit: number, cb: Cb<number>): void => {
        this.requests += 1;
        const exception = this.exceptionFor?.(unit, addr, 1);
        if (exception === 'silent') return;
        if (exception !== undefined) return cb(modbusException(exception), 0);
        const table = this.tableFor(defaultTable, unit);
        const v = table.get(addr);
        if (v === undefined) return cb(illegalAddress(), 0);
        cb(null, v);
      };
    this.server = new ServerTCP(
      {
        getHoldingRegister: one(this.holding),
        getInputRegister: one(this.input),
        getMultipleHoldingRegisters: many(this.holding),
        getMultipleInputRegisters: many(this.input),
      },
      { host: '127.0.0.1', port: this.port, unitID: 255 },
    );
    await new Promise<void>((resolve, reject) => {
      this.server.on('initialized', () => resolve());
      this.server.on('serverError', (err) => reject(err ?? new Error('server error')));
    });
  }

  private tableFor(defaultTable: Map<number, number>, unit: number): Map<number, number> {
    return defaultTable === this.holding ? (this.holdingByUnit.get(unit) ?? defaultTable) : defaultTable;
  }

  /** The client connections open now. */
  connections(): Set<unknown> {
    return new Set(this.server.socks.keys());
  }

  /** Closes every client connection, as a meter rebooting or a gateway timing out does. */
  dropConnections(): void {
    for (const sock of this.server.socks.keys()) sock.destroy();
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function words32(value: number, kind: 'int' | 'uint' | 'float'): [number, number] {
  const b = Buffer.alloc(4);
  if (kind === 'int') b.writeInt32BE(value);
  else if (kind === 'uint') b.writeUInt32BE(value);
  else b.writeFloatBE(value);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

describe('modbus adapter against a ServerTCP meter', () => {
  const meter = new FakeMeter();
  const adapters: PowerAdapter[] = [];

  beforeAll(async () => {
    await meter.start();
    meter.holding.set(0, 2301); // voltage x0.1
    meter.holding.set(1, 0xfffb); // -5 as int16
    const [p0, p1] = words32(123456, 'int');
    meter.holding.set(2, p0);
    meter.holding.set(3, p1);
    const [f0, f1] = words32(49.98, 'float');
    // Word-swapped ("left") float at 10..11.
    meter.holding.set(10, f1);
    meter.holding.set(11, f0);
    const [e0, e1] = words32(4000000000, 'uint');
    meter.input.set(100, e0);
    meter.input.set(101, e1);
    meter.input.set(200, 7);
  });

  afterEach(() => {
    meter.exceptionFor = undefined;
  });

  afterAll(async () => {
    for (const a of adapters) await a.close();
    await meter.stop();
  });

  function create(entry: Record<string, unknown>, logger: Logger = noopLogger): ModbusAdapter {
    const config = modbusConfigSchema.parse({ id: 'meter', type: 'modbus', host: `127.0.0.1:${meter.port}`, timeout: 1, ...entry });
    const adapter = modbusAdapterDefinition.create(config, { logger, requestTimeoutMs: 1000, equipmentId: 'meter' });
    adapters.push(adapter);
    if (!(adapter instanceof ModbusAdapter)) throw new Error('unexpected adapter class');
    return adapter;
  }

  const sensors = [
    { name: 'voltage', unit: 'V', register_address: 0, register_type: 'MBU', register_scaling: 0.1 },
    { name: 'delta', unit: 'W', register_address: 1, register_type: 'MBI' },
    { name: 'power', unit: 'W', register_address: 2, register_type: 'MBL' },
    { name: 'freq', unit: 'Hz', register_address: 10, register_type: 'MBF', register_order: 'left' },
    { name: 'energy', unit: 'Wh', register_category: 'input', register_address: 100, register_type: 'MBUL' },
    { name: 'count', unit: 'count', register_category: 'input', register_address: 200, register_type: 'mbu' },
  ];

  function values(readings: Reading[]): Record<string, number> {
    return Object.fromEntries(readings.map((r) => [r.sensor, r.value]));
  }

  it('decodes every register type with one request per nearby range when read', async () => {
    const adapter = create({ sensors, max_gap: 8 });
    const readings = await adapter.read(new AbortController().signal);
    expect(values(readings)).toEqual({ voltage: 230.1, delta: -5, power: 123456, freq: 49.98, energy: 4000000000, count: 7 });
    // holding 0..3 has a hole 4..9 before 10..11: with max_gap 8 that first merge is refused by the device and
    // split into its two contiguous runs; the input registers 100..101 and 200 are too far apart to merge.
    expect(adapter.plan.map((g) => [g.category, g.start, g.count])).toEqual([
      ['holding', 0, 4],
      ['holding', 10, 2],
      ['input', 100, 2],
      ['input', 200, 1],
    ]);
    const before = meter.requests;
    expect(values(await adapter.read(new AbortController().signal))).toEqual(values(readings));
    expect(meter.requests - before).toBe(4);
  });

  it('reads the other sensors of a refused contiguous run one by one', async () => {
    const lines: Array<[string, LogFields]> = [];
    const adapter = create(
      {
        sensors: [
          { name: 'voltage', unit: 'V', register_address: 0, register_type: 'MBU', register_scaling: 0.1 },
          { name: 'ghost', unit: 'W', register_address: 4, register_type: 'MBU' },
          { name: 'freq', unit: 'Hz', register_address: 10, register_type: 'MBF', register_order: 'left' },
        ],
        max_gap: 0,
      },
      warningsLogger(lines),
    );
    // 0 and 4 are not contiguous, so the plan is [0], [4], [10..11]: only 'ghost' is refused.
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ voltage: 230.1, freq: 49.98 });
    expect(lines.some(([msg, f]) => f['sensor'] === 'ghost' && msg.includes('illegal data address'))).toBe(true);
    const merged = create({
      sensors: [
        { name: 'voltage', unit: 'V', register_address: 0, register_type: 'MBU', register_scaling: 0.1 },
        { name: 'delta', unit: 'W', register_address: 1, register_type: 'MBI' },
        { name: 'ghost', unit: 'W', register_address: 4, register_type: 'MBU' },
      ],
      max_gap: 8,
    });
    // 0..4 is read as one range across 2..3 and refused (4 is missing); the split gives the runs 0..1 and 4.
    expect(values(await merged.read(new AbortController().signal))).toEqual({ voltage: 230.1, delta: -5 });
    expect(merged.plan.map((g) => [g.start, g.count])).toEqual([
      [0, 2],
      [4, 1],
    ]);
  });

  it('reads contiguous registers in one request when there is no hole', async () => {
    const adapter = create({ sensors: sensors.slice(0, 3), max_gap: 0 });
    const before = meter.requests;
    await adapter.read(new AbortController().signal);
    expect(meter.requests - before).toBe(1);
    const again = meter.requests;
    await adapter.read(new AbortController().signal);
    expect(meter.requests - again).toBe(1);
  });

  it('skips a sensor with a logged reason when the device answers an exception', async () => {
    const lines: Array<[string, LogFields]> = [];
    const adapter = create(
      { sensors: [sensors[0], { name: 'ghost', unit: 'W', register_address: 500, register_type: 'MBU' }] },
      warningsLogger(lines),
    );
    const readings = await adapter.read(new AbortController().signal);
    expect(readings.map((r) => r.sensor)).toEqual(['voltage']);
    expect(lines.some(([msg, f]) => f['sensor'] === 'ghost' && msg.includes('illegal data address'))).toBe(true);
  });

  it('keeps one connection across polls when the meter stays up', async () => {
    const before = meter.connections();
    const adapter = create({ sensors: sensors.slice(0, 3) });
    const opened = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      await adapter.read(new AbortController().signal);
      for (const sock of meter.connections()) if (!before.has(sock)) opened.add(sock);
    }
    expect(opened.size).toBe(1);
  });

  it('addresses each sensor to its device_unit when several units share a gateway', async () => {
    meter.holdingByUnit.set(2, new Map([[0, 1111]]));
    meter.holdingByUnit.set(3, new Map([[0, 2222]]));
    const adapter = create({
      sensors: [
        { name: 'u1', unit: 'V', register_address: 0, register_type: 'MBU' },
        { name: 'u2', unit: 'V', register_address: 0, register_type: 'MBU', device_unit: 2 },
        { name: 'u3', unit: 'V', register_address: 0, register_type: 'MBU', device_unit: 3 },
      ],
    });
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ u1: 2301, u2: 1111, u3: 2222 });
    meter.holdingByUnit.clear();
  });

  it('reconnects on the next poll when the meter dropped the connection', async () => {
    const adapter = create({ sensors: sensors.slice(0, 1) });
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ voltage: 230.1 });
    meter.dropConnections();
    meter.holding.set(0, 2310);
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ voltage: 231 });
    meter.holding.set(0, 2301);
  });

  it('fails with ER_MODBUS_CONNECT when nothing listens', async () => {
    const port = await getFreePort();
    const config = modbusConfigSchema.parse({ host: `127.0.0.1:${port}`, sensors: sensors.slice(0, 1), timeout: 1 });
    const adapter = modbusAdapterDefinition.create(config, { logger: noopLogger, requestTimeoutMs: 1000, equipmentId: 'm' });
    adapters.push(adapter);
    const err = await adapter.read(new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdapterError);
    expect((err as AdapterError).code).toBe('ER_MODBUS_CONNECT');
    expect((err as AdapterError).retryable).toBe(true);
  });

  it('fails with ER_MODBUS_TIMEOUT when the unit id is not answered', async () => {
    const port = await getFreePort();
    const other = new ServerTCP(
      { getHoldingRegister: (_a: number, _u: number, cb: Cb<number>) => cb(null, 1) },
      { host: '127.0.0.1', port, unitID: 1 },
    );
    await new Promise<void>((resolve) => other.on('initialized', () => resolve()));
    try {
      const config = modbusConfigSchema.parse({
        host: `127.0.0.1:${port}`,
        sensors: [{ name: 'x', unit: 'W', register_address: 0, register_type: 'MBU', device_unit: 7 }],
        timeout: 0.3,
      });
      const adapter = modbusAdapterDefinition.create(config, { logger: noopLogger, requestTimeoutMs: 300, equipmentId: 'm' });
      adapters.push(adapter);
      const err = await adapter.read(new AbortController().signal).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as AdapterError).code).toBe('ER_MODBUS_TIMEOUT');
    } finally {
      await new Promise((resolve) => other.close(() => resolve(undefined)));
    }
  });
  async function failure(promise: Promise<unknown>): Promise<AdapterError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof AdapterError)) throw new Error(`expected an AdapterError, got ${String(err)}`);
    return err;
  }

  it.each([
    [4, 'ER_MODBUS_DEVICE'],
    [5, 'ER_MODBUS_DEVICE'],
    [6, 'ER_MODBUS_DEVICE'],
    [10, 'ER_MODBUS_GATEWAY'],
    [11, 'ER_MODBUS_GATEWAY'],
  ])('keeps the merged plan after a transient exception %i on it and fails that poll with %s', async (code, errorCode) => {
    const adapter = create({ sensors: sensors.slice(0, 3), max_gap: 0 });
    expect(adapter.plan.map((g) => [g.start, g.count])).toEqual([[0, 4]]);
    // Busy (or unreachable) for the whole first poll: the merged read and the per-sensor reads tried after it.
    let failing = true;
    meter.exceptionFor = () => (failing ? code : undefined);
    const err = await failure(adapter.read(new AbortController().signal));
    failing = false;
    expect(err.code).toBe(errorCode);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`exception ${code}`);
    expect(adapter.plan.map((g) => [g.start, g.count])).toEqual([[0, 4]]);
    const before = meter.requests;
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ voltage: 230.1, delta: -5, power: 123456 });
    expect(meter.requests - before).toBe(1);
  });

  it.each([
    [4, 'server device failure'],
    [1, 'illegal function'],
  ])('splits a merged read the device refuses with exception %i (%s) when its parts are read', async (code) => {
    // Devices that report a hole in their register map with exception 1 or 4 rather than 2.
    meter.exceptionFor = (_unit, _addr, length) => (length > 2 ? code : undefined);
    const adapter = create({
      sensors: [
        { name: 'voltage', unit: 'V', register_address: 0, register_type: 'MBU', register_scaling: 0.1 },
        { name: 'freq', unit: 'Hz', register_address: 10, register_type: 'MBF', register_order: 'left' },
      ],
      max_gap: 9,
    });
    expect(adapter.plan.map((g) => [g.start, g.count])).toEqual([[0, 12]]);
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ voltage: 230.1, freq: 49.98 });
    expect(adapter.plan.map((g) => [g.start, g.count])).toEqual([
      [0, 1],
      [10, 2],
    ]);
    const before = meter.requests;
    expect(values(await adapter.read(new AbortController().signal))).toEqual({ voltage: 230.1, freq: 49.98 });
    expect(meter.requests - before).toBe(2);
  });

  it('fails retryably with ER_MODBUS_GATEWAY while the meter behind the gateway does not answer', async () => {
    // A gateway answers for unit 7 but cannot reach it: every request gets exception 11 (or 10).
    meter.exceptionFor = (unit) => (unit === 7 ? 11 : unit === 8 ? 10 : undefined);
    const down = create({
      sensors: [
        { name: 'a', unit: 'W', register_address: 0, register_type: 'MBF', device_unit: 7 },
        { name: 'b', unit: 'W', register_address: 2, register_type: 'MBF', device_unit: 7 },
        { name: 'c', unit: 'W', register_address: 0, register_type: 'MBU', device_unit: 8 },
      ],
    });
    const err = await failure(down.read(new AbortController().signal));
    expect(err.code).toBe('ER_MODBUS_GATEWAY');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/exception 11 .*10 /);
    expect(down.plan.map((g) => [g.unitId, g.start, g.count])).toEqual([
      [7, 0, 4],
      [8, 0, 1],
    ]);

    // A meter that is busy or failing on every request fails the poll too.
    meter.exceptionFor = () => 6;
    const busy = create({ sensors: sensors.slice(0, 1) });
    expect((await failure(busy.read(new AbortController().signal))).code).toBe('ER_MODBUS_DEVICE');

    // With another unit still answering, its sensors are reported and the unreachable one is only a warning.
    meter.exceptionFor = (unit) => (unit === 7 ? 11 : undefined);
    const lines: Array<[string, LogFields]> = [];
    const partial = create(
      {
        sensors: [
          { name: 'u1', unit: 'V', register_address: 0, register_type: 'MBU' },
          { name: 'u7', unit: 'V', register_address: 0, register_type: 'MBU', device_unit: 7 },
        ],
      },
      warningsLogger(lines),
    );
    expect(values(await partial.read(new AbortController().signal))).toEqual({ u1: 2301 });
    expect(lines.some(([msg, f]) => f['sensor'] === 'u7' && msg.includes('exception 11'))).toBe(true);
  });

  /**
   * Stands in for a device that drops SYNs (powered off, filtered port): the adapter's sockets never connect.
   * Returns the sockets the adapter tried to connect, and restores `connect` when the test ends.
   */
  function blackholeConnects(): { sockets: Socket[]; started: Promise<void>; restore: () => void } {
    const sockets: Socket[] = [];
    let started!: () => void;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const spy = jest.spyOn(Socket.prototype, 'connect').mockImplementation(function (this: Socket) {
      (this as unknown as { connecting: boolean }).connecting = true;
      sockets.push(this);
      started();
      return this;
    });
    return { sockets, started: startedPromise, restore: () => spy.mockRestore() };
  }

  it('rejects with ER_ABORTED right after an abort while the connection is still opening', async () => {
    const blackhole = blackholeConnects();
    try {
      const adapter = create({ sensors: sensors.slice(0, 1), timeout: 5 });
      const ac = new AbortController();
      const result = adapter.read(ac.signal).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      await blackhole.started;
      const abortedAt = Date.now();
      ac.abort(new Error('poll deadline'));
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([result, new Promise((resolve) => (timer = setTimeout(() => resolve('still pending'), 500)))]);
      clearTimeout(timer);
      expect(outcome).toBeInstanceOf(AdapterError);
      expect((outcome as AdapterError).code).toBe('ER_ABORTED');
      expect(Date.now() - abortedAt).toBeLessThan(500);
      expect(blackhole.sockets.map((s) => s.destroyed)).toEqual([true]);
    } finally {
      blackhole.restore();
    }
  });

  it('fails a connect that times out with ER_MODBUS_TIMEOUT and destroys its socket', async () => {
    const blackhole = blackholeConnects();
    try {
      const adapter = create({ sensors: sensors.slice(0, 1), timeout: 0.2 });
      for (let poll = 1; poll <= 2; poll++) {
        const err = await failure(adapter.read(new AbortController().signal));
        expect(err.code).toBe('ER_MODBUS_TIMEOUT');
        expect(err.retryable).toBe(true);
        // One attempt per poll (a connection that never opened is not retried), and nothing left half-open.
        expect(blackhole.sockets).toHaveLength(poll);
        expect(blackhole.sockets.every((s) => s.destroyed)).toBe(true);
      }
    } finally {
      blackhole.restore();
    }
  });

  it('fails a pending request at once when the adapter is closed', async () => {
    // The meter never answers unit 9, so the request would wait for the 5 s timeout.
    const adapter = create({ sensors: [{ name: 'x', unit: 'W', register_address: 0, register_type: 'MBU', device_unit: 9 }], timeout: 5 });
    meter.exceptionFor = (unit) => (unit === 9 ? 'silent' : undefined);
    const started = Date.now();
    const result = failure(adapter.read(new AbortController().signal));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await adapter.close();
    const err = await result;
    expect(err.code).toBe('ER_MODBUS_CONNECT');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});


/** Registers of a value as a meter serves them: 16-bit words, most significant first unless `lswFirst`. */
function wordsOf(value: number | bigint, kind: 'int16' | 'int32' | 'uint32' | 'float32' | 'int64', lswFirst = false): number[] {
  const size = kind === 'int16' ? 2 : kind === 'int64' ? 8 : 4;
  const b = Buffer.alloc(size);
  if (kind === 'int16') b.writeInt16BE(Number(value));
  else if (kind === 'int32') b.writeInt32BE(Number(value));
  else if (kind === 'uint32') b.writeUInt32BE(Number(value));
  else if (kind === 'float32') b.writeFloatBE(Number(value));
  else b.writeBigInt64BE(BigInt(value));
  const words = Array.from({ length: size / 2 }, (_, i) => b.readUInt16BE(i * 2));
  return lswFirst ? words.reverse() : words;
}

function put(table: Map<number, number>, address: number, words: readonly number[]): void {
  words.forEach((w, i) => table.set(address + i, w));
}

describe('modbus adapter against vendor register maps', () => {
  const meter = new FakeMeter();
  const adapters: PowerAdapter[] = [];
  /** SunSpec model 203 (wye meter) where a SolarEdge inverter serves its first meter: ID at 40188. */
  const M = 40188;

  beforeAll(async () => {
    await meter.start();
    // Schneider PM5xxx register list (1-based register numbers): 3000 Current A (FLOAT32 A), 3060 Active Power
    // Total (FLOAT32 kW), 3204 Active Energy Delivered (INT64 Wh). The protocol address is the number minus one.
    put(meter.holding, 2999, wordsOf(5.5, 'float32'));
    put(meter.holding, 3059, wordsOf(12.345, 'float32'));
    put(meter.holding, 3203, wordsOf(123456789012345n, 'int64'));
    // Eastron SDM630 input registers, FLOAT32 big-endian: 30053 Total system power (W) at address 0x34, 30343 Total
    // kWh at 0x156.
    put(meter.input, 0x34, wordsOf(2345.5, 'float32'));
    put(meter.input, 0x156, wordsOf(98765.4, 'float32'));
    // Carlo Gavazzi EM24 input registers, INT32 least significant word first: W sys x10 at 0x28, kWh (+) TOT x10 at
    // 0x42 (as mbmd's EM24 map reads them).
    put(meter.input, 0x28, wordsOf(-123456, 'int32', true));
    put(meter.input, 0x42, wordsOf(7654321, 'int32', true));
    // SunSpec model 203: every register of the block exists (a merged read must not hit a hole).
    for (let a = M; a <= M + 54; a++) meter.holding.set(a, 0);
    meter.holding.set(M, 203);
    meter.holding.set(M + 1, 105);
  });

  afterAll(async () => {
    for (const a of adapters) await a.close();
    await meter.stop();
  });

  function create(entry: Record<string, unknown>, logger: Logger = noopLogger): ModbusAdapter {
    const config = modbusConfigSchema.parse({ id: 'meter', type: 'modbus', host: `127.0.0.1:${meter.port}`, timeout: 1, ...entry });
    const adapter = modbusAdapterDefinition.create(config, { logger, requestTimeoutMs: 1000, equipmentId: 'meter' });
    adapters.push(adapter);
    if (!(adapter instanceof ModbusAdapter)) throw new Error('unexpected adapter class');
    return adapter;
  }

  const read = async (adapter: ModbusAdapter): Promise<Record<string, [number, string]>> =>
    Object.fromEntries((await adapter.read(new AbortController().signal)).map((r) => [r.sensor, [r.value, r.unit] as [number, string]]));

  it('reads a Schneider PM5xxx INT64 Wh energy register and its kW power when configured as the example', async () => {
    // The entry of examples/config/collector-settings.yaml (meter-1), pointed at the fake meter.
    const adapter = create({
      sensors: [
        { name: 'power', unit: 'W', register_address: 3059, register_type: 'MBF', register_scaling: 1000 },
        { name: 'energy', unit: 'kWh', register_address: 3203, register_type: 'MBLL', register_scaling: 0.001 },
      ],
    });
    expect(await read(adapter)).toEqual({ power: [12345, 'W'], energy: [123456789012.345, 'kWh'] });
  });

  it('reads Eastron SDM630 float32 input registers and Carlo Gavazzi EM24 word-swapped INT32 when configured so', async () => {
    const adapter = create({
      sensors: [
        { name: 'sdm/power', unit: 'W', register_category: 'input', register_address: 0x34, register_type: 'MBF' },
        { name: 'sdm/energy', unit: 'kWh', register_category: 'input', register_address: 0x156, register_type: 'MBF' },
        { name: 'em24/power', unit: 'W', register_category: 'input', register_address: 0x28, register_type: 'MBL', register_order: 'left', register_scaling: 0.1 },
        { name: 'em24/energy', unit: 'kWh', register_category: 'input', register_address: 0x42, register_type: 'MBL', register_order: 'left', register_scaling: 0.1 },
      ],
    });
    expect(await read(adapter)).toEqual({
      'sdm/power': [2345.5, 'W'],
      'sdm/energy': [98765.4, 'kWh'],
      'em24/power': [-12345.6, 'W'],
      'em24/energy': [765432.1, 'kWh'],
    });
  });

  it('applies a SunSpec scale factor read in the same request as its value, also when the device changes it', async () => {
    const sensors = [
      { name: 'power', unit: 'W', register_address: M + 18, register_type: 'MBI', scale_factor_address: M + 22 },
      { name: 'energy', unit: 'Wh', register_address: M + 46, register_type: 'MBUL', scale_factor_address: M + 54 },
    ];
    const adapter = create({ sensors, max_gap: 0 });
    put(meter.holding, M + 18, wordsOf(12345, 'int16'));
    put(meter.holding, M + 22, wordsOf(-1, 'int16'));
    put(meter.holding, M + 46, wordsOf(1234567, 'uint32'));
    put(meter.holding, M + 54, wordsOf(1, 'int16'));
    expect(await read(adapter)).toEqual({ power: [1234.5, 'W'], energy: [12345670, 'Wh'] });
    // Each value and its scale factor form one request even with max_gap 0.
    expect(adapter.plan.map((g) => [g.start, g.count])).toEqual([
      [M + 18, 5],
      [M + 46, 9],
    ]);
    // A Fronius or SolarEdge device rescales as the power grows: the new pair is read together.
    put(meter.holding, M + 18, wordsOf(3210, 'int16'));
    put(meter.holding, M + 22, wordsOf(0, 'int16'));
    expect((await read(adapter))['power']).toEqual([3210, 'W']);
  });

  it('skips a SunSpec value the device marks as not implemented', async () => {
    const lines: Array<[string, LogFields]> = [];
    const adapter = create(
      { sensors: [{ name: 'power', unit: 'W', register_address: M + 19, register_type: 'MBI', scale_factor_address: M + 22 }] },
      warningsLogger(lines),
    );
    meter.holding.set(M + 19, 0x8000);
    expect(await read(adapter)).toEqual({});
    expect(lines.some(([msg, f]) => f['sensor'] === 'power' && msg.includes('not implemented'))).toBe(true);
  });
});
