import { AdapterError, type Logger, noopLogger, type PowerAdapter } from '@energyrecorder/core';
import { peerAvailable } from '@energyrecorder/testkit';
import { createIpmiAdapter, ipmiConfigSchema, IpmiErrorCode } from '../../src/ipmi/index.js';
import { FakeBmc } from './fake-bmc.js';

const haveIpmitool = peerAvailable('ipmitool (long-running polling against the fake BMC)', ['ipmitool']);
const drivers = haveIpmitool ? (['native', 'ipmitool'] as const) : (['native'] as const);

/** A logger that keeps its warn lines, to see the source switches. */
function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = { ...noopLogger, warn: (_f, m) => void lines.push(m ?? ''), child: () => logger };
  return { logger, lines };
}

describe('ipmi adapter polling the fake BMC for a long time', () => {
  const bmc = new FakeBmc(
    new Map([
      ['admin', 'poll-secret'],
      ['nopass', ''],
    ]),
  );
  let port = 0;
  const adapters: PowerAdapter[] = [];
  const adapterFor = (extra: Record<string, unknown> = {}, logger: Logger = noopLogger): PowerAdapter => {
    const config = ipmiConfigSchema.parse({
      type: 'ipmi',
      id: 'fake',
      host: '127.0.0.1',
      port,
      user: 'admin',
      pass: 'poll-secret',
      ...extra,
    });
    const adapter = createIpmiAdapter(config, { logger, requestTimeoutMs: 3000, equipmentId: 'fake' });
    adapters.push(adapter);
    return adapter;
  };
  const read = async (adapter: PowerAdapter): Promise<[number, string | undefined][]> =>
    (await adapter.read(AbortSignal.timeout(20_000))).map((r) => [r.value, r.source]);
  const readError = async (adapter: PowerAdapter): Promise<AdapterError> => {
    const err = await adapter.read(AbortSignal.timeout(20_000)).then(
      () => new Error('read succeeded but an error was expected'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdapterError);
    return err as AdapterError;
  };

  beforeAll(async () => {
    port = await bmc.start();
  });

  afterEach(async () => {
    for (const a of adapters.splice(0)) await a.close();
    Object.assign(bmc, {
      dcmiActive: true,
      manufacturerId: 343,
      staleBridgedAnswer: false,
      deafFor: 0,
      record: false,
      sdrLinearization: 0,
      sensorUnavailable: false,
    });
  });

  afterAll(async () => {
    await bmc.stop();
  });

  it.each(drivers)('goes back to DCMI (%s driver) when DCMI is active again after an SDR stand-in', async (driver) => {
    bmc.powerWatts = 311;
    bmc.sensorRaw = 120;
    const { logger, lines } = warnings();
    const adapter = adapterFor({ driver }, logger);
    expect(await read(adapter)).toEqual([[311, 'dcmi']]);
    bmc.dcmiActive = false;
    expect(await read(adapter)).toEqual([[2 * 120 + 50, 'sdr']]);
    expect(await read(adapter)).toEqual([[2 * 120 + 50, 'sdr']]);
    bmc.dcmiActive = true;
    expect(await read(adapter)).toEqual([[311, 'dcmi']]);
    expect(await read(adapter)).toEqual([[311, 'dcmi']]);
    expect(lines).toEqual([
      'DCMI power measurement not active; reading the SDR power sensors until it is again',
      'DCMI power measurement active again; reading DCMI again',
    ]);
  });

  it.each(drivers)('keeps DCMI as the source (%s driver) when its measurement is paused at the first probe', async (driver) => {
    bmc.powerWatts = 298;
    bmc.sensorRaw = 110;
    bmc.dcmiActive = false;
    const { logger, lines } = warnings();
    const adapter = adapterFor({ driver }, logger);
    expect(await read(adapter)).toEqual([[2 * 110 + 50, 'sdr']]);
    bmc.dcmiActive = true;
    expect(await read(adapter)).toEqual([[298, 'dcmi']]);
    expect(lines).toEqual([
      'DCMI power measurement not active; reading the SDR power sensors until it is again',
      'DCMI power measurement active again; reading DCMI again',
    ]);
  });

  it.each(drivers)('fails retryably (%s driver) when a DCMI-only BMC is paused from the first probe', async (driver) => {
    bmc.manufacturerId = 0x0f_ffff;
    bmc.powerWatts = 301;
    bmc.dcmiActive = false;
    const adapter = adapterFor({ driver });
    const err = await readError(adapter);
    expect([err.code, err.retryable]).toEqual([IpmiErrorCode.DCMI_INACTIVE, true]);
    bmc.dcmiActive = true;
    expect(await read(adapter)).toEqual([[301, 'dcmi']]);
  });

  it.each(drivers)(
    'fails retryably without re-probing (%s driver) when a DCMI-only BMC pauses its measurement',
    async (driver) => {
      // No vendor pattern for this manufacturer id, so the fake's one SDR sensor is not a power sensor here.
      bmc.manufacturerId = 0x0f_ffff;
      bmc.powerWatts = 305;
      const adapter = adapterFor({ driver });
      expect(await read(adapter)).toEqual([[305, 'dcmi']]);
      bmc.dcmiActive = false;
      for (let poll = 0; poll < 3; poll++) {
        bmc.recorded.length = 0;
        bmc.record = true;
        const err = await readError(adapter);
        bmc.record = false;
        expect([err.code, err.retryable]).toEqual([IpmiErrorCode.DCMI_INACTIVE, true]);
        // After the first paused poll the SDR result is remembered: one DCMI request per poll, no SDR walk.
        if (driver === 'native' && poll > 0) expect(bmc.recorded.filter((p) => p.direction === 'in')).toHaveLength(1);
      }
      bmc.dcmiActive = true;
      expect(await read(adapter)).toEqual([[305, 'dcmi']]);
    },
  );

  it('closes the old BMC session when a request times out and a new session is opened', async () => {
    bmc.powerWatts = 280;
    const before = bmc.sessionCount;
    const adapter = adapterFor({ timeout: 1 });
    expect(await read(adapter)).toEqual([[280, 'dcmi']]);
    expect(bmc.sessionCount).toBe(before + 1);
    // Four lost datagrams are all the retransmissions of one request: a TIMEOUT, while the BMC session lives on.
    bmc.deafFor = 4;
    expect(await read(adapter)).toEqual([[280, 'dcmi']]);
    expect(bmc.sessionCount).toBe(before + 1);
    await adapter.close();
    expect(bmc.sessionCount).toBe(before);
  });

  it('applies the linearization function of a non-linear SDR sensor (native driver)', async () => {
    bmc.sensorRaw = 25;
    bmc.sdrLinearization = 10; // sqrt
    const adapter = adapterFor({ sensors: ['PS1 Input Power'] });
    expect(await read(adapter)).toEqual([[Math.sqrt(2 * 25 + 50), 'sdr']]);
  });

  it('warns once when every chosen SDR sensor has a linearization it cannot convert (native driver)', async () => {
    bmc.sensorRaw = 25;
    bmc.sdrLinearization = 0x70; // non-linear: factors change with each reading
    const { logger, lines } = warnings();
    const adapter = adapterFor({ sensors: ['PS1 Input Power'] }, logger);
    expect(await read(adapter)).toEqual([]);
    expect(await read(adapter)).toEqual([]);
    expect(lines).toEqual([
      'power sensor "PS1 Input Power" left out of the sum: non-linear sensor (linearization 0x70) whose factors ' +
        'change with each reading: not supported',
    ]);
  });

  it.each(drivers)(
    'reads an SDR power sensor (%s driver) that had no reading yet when the sensors were listed',
    async (driver) => {
      bmc.dcmiActive = false;
      bmc.sensorRaw = 90;
      bmc.sensorUnavailable = true;
      const adapter = adapterFor({ driver });
      expect(await read(adapter)).toEqual([]);
      bmc.sensorUnavailable = false;
      expect(await read(adapter)).toEqual([[2 * 90 + 50, 'sdr']]);
    },
  );

  it('ignores a stale bridged answer with another rqSeq when the target answers as a separate message', async () => {
    bmc.powerWatts = 222;
    bmc.staleBridgedAnswer = true;
    const adapter = adapterFor({ host: '127.0.0.1:0x82' });
    expect(await read(adapter)).toEqual([[222, 'dcmi']]);
    expect(await read(adapter)).toEqual([[222, 'dcmi']]);
  });

  (haveIpmitool ? it : it.skip)('reads through ipmitool when the password is empty', async () => {
    bmc.powerWatts = 244;
    const adapter = adapterFor({ driver: 'ipmitool', user: 'nopass', pass: '' });
    expect(await read(adapter)).toEqual([[244, 'dcmi']]);
  });
});
