import { AdapterError, type PowerAdapter } from '@energyrecorder/core';
import { shellyAdapter } from '../../src/shelly/adapter.js';
import { captureLogger } from '../fakes/capture-logger.js';
import { httpFixture } from '../fakes/http-devices.js';
import { shellyJson, startFakeShellyModel, type FakeShellyModel } from './fake-shelly.js';

// Models beyond the single-channel plugs of test/fakes/http-devices.ts, each answering with the payload shapes Shelly
// documents for it: Gen1 `meters[]` (2.5) and `emeters[]` (EM, 3EM), Gen2+ `EM`, `EM1` and `PM1` components.

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
function keep<T extends { close(): Promise<void> }>(x: T): T {
  opened.push(x);
  return x;
}

function create(fake: FakeShellyModel, entry: Record<string, unknown> = {}, logger = captureLogger()): PowerAdapter {
  const config = shellyAdapter.configSchema.parse({ id: 'dev', type: 'shelly', host: fake.origin, ...entry });
  return keep(shellyAdapter.create(config, { logger, requestTimeoutMs: 3000, equipmentId: 'dev' }));
}
const read = (a: PowerAdapter) => a.read(new AbortController().signal);
const values = async (a: PowerAdapter) => Object.fromEntries((await read(a)).map((r) => [r.sensor, r.value]));
async function failure(a: PowerAdapter): Promise<AdapterError> {
  const err: unknown = await read(a).then(
    () => new Error('read succeeded'),
    (e: unknown) => e,
  );
  if (err instanceof AdapterError) return err;
  throw err;
}
const warnings = (logger: ReturnType<typeof captureLogger>) =>
  logger.lines.map((l) => JSON.parse(l) as { level: string; message?: string }).filter((l) => l.level === 'warn').map((l) => l.message);

const gen1 = async (info: string, status: string) =>
  keep(await startFakeShellyModel({ info: shellyJson(info), status: shellyJson(status) }));
const shelly25 = () => gen1('shelly-25-gen1-20230913-info.json', 'shelly-25-gen1-20230913.json');
const shellyEm = () => gen1('shelly-em-gen1-20230913-info.json', 'shelly-em-gen1-20230913.json');
const shelly3em = () => gen1('shelly-3em-gen1-20230913-info.json', 'shelly-3em-gen1-20230913.json');
const pro3em = async () =>
  keep(
    await startFakeShellyModel({
      info: shellyJson('shelly-pro-3em-1.4.4-info.json'),
      components: {
        'em:0': shellyJson('shelly-pro-3em-1.4.4-em-status.json'),
        'emdata:0': { id: 0, a_total_act_energy: 100000.5, b_total_act_energy: 20000.25, c_total_act_energy: 300000.0, total_act: 420000.75 },
        'temperature:0': { id: 0, tC: 44.1, tF: 111.4 },
      },
    }),
  );

describe('shelly Gen1 multi-channel relays (meters[channel])', () => {
  it('reads the configured channel of a Shelly 2.5, not meters[0]', async () => {
    const fake = await shelly25();
    expect(await values(create(fake, { channel: 1 }))).toEqual({ temperature: 40.5, power: 250 });
    expect(await values(create(fake, { channel: 0 }))).toEqual({ temperature: 40.5, power: 10 });
    expect(await values(create(fake, { channel: 1, gen: 1 }))).toEqual({ temperature: 40.5, power: 250 });
  });

  it('refuses a channel the device does not have with a non-retryable error naming channel', async () => {
    const err = await failure(create(await shelly25(), { channel: 2 }));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_CONFIG', retryable: false, adapterType: 'shelly' });
    expect(err.message).toMatch(/channel 2 does not exist: this device reports 2 meters \(channels 0\.\.1\)/);
  });
});

describe('shelly Gen1 energy meters (emeters[])', () => {
  it('reads emeters[channel] of a Shelly EM: power and its Wh counter', async () => {
    const fake = await shellyEm();
    expect(await values(create(fake))).toEqual({ power: 512.3, energy: 183211.4 });
    expect(await values(create(fake, { channel: 1 }))).toEqual({ power: 1420.85, energy: 902311.7 });
    expect(await failure(create(fake, { channel: 2 }))).toMatchObject({ code: 'ER_ADAPTER_CONFIG', retryable: false });
  });

  it('reads a Shelly 3EM as one three-phase meter: the sum as power, each phase as power_a/b/c', async () => {
    const r = await read(create(await shelly3em()));
    expect(r.map((x) => [x.sensor, x.unit, x.value])).toEqual([
      ['power', 'W', 2030.75],
      ['power_a', 'W', 410.5],
      ['power_b', 'W', 120.25],
      ['power_c', 'W', 1500],
      ['energy', 'Wh', 420000.75],
    ]);
  });

  it('refuses channel 1 on a 3EM, whose phases are not channels', async () => {
    const err = await failure(create(await shelly3em(), { channel: 1 }));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_CONFIG', retryable: false });
    expect(err.message).toMatch(/channel 1 does not exist: this Shelly 3EM has one three-phase meter/);
  });

  it('keeps the valid phases of a 3EM and drops the sum when one phase is flagged invalid', async () => {
    const fake = await shelly3em();
    const emeters = fake.status?.['emeters'] as { is_valid: boolean; power: number }[];
    emeters[1] = { ...emeters[1]!, is_valid: false, power: 0 };
    const logger = captureLogger();
    expect(await values(create(fake, {}, logger))).toEqual({ power_a: 410.5, power_c: 1500 });
    expect(warnings(logger)).toEqual([
      'emeters[1] (phase B) flagged invalid by the device: its power is skipped',
      'power (sum of the phases) skipped: not every phase is valid',
    ]);
  });
});

describe('shelly Gen1 meters flagged is_valid: false', () => {
  it('publishes no 0 W reading for an invalid plug meter: a retryable payload error instead', async () => {
    const fake = keep(
      await startFakeShellyModel({ info: JSON.parse(httpFixture('shelly-plug-s-gen1-20230913-info.json')) as Record<string, unknown>, status: {} }),
    );
    const status = JSON.parse(httpFixture('shelly-plug-s-gen1-20230913.json')) as { meters: Record<string, unknown>[] };
    status.meters[0] = { ...status.meters[0], power: 0, is_valid: false };
    fake.status = status;
    const err = await failure(create(fake));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_PAYLOAD', retryable: true });
    expect(err.message).toMatch(/meters\[0\] flagged invalid by the device: no power reading/);
  });

  it('skips an invalid emeter of a Shelly EM the same way, and reads the other channel', async () => {
    const fake = await shellyEm();
    const emeters = fake.status?.['emeters'] as Record<string, unknown>[];
    emeters[0] = { ...emeters[0], power: 0, is_valid: false };
    expect(await failure(create(fake))).toMatchObject({ code: 'ER_ADAPTER_PAYLOAD', retryable: true });
    expect(await values(create(fake, { channel: 1 }))).toEqual({ power: 1420.85, energy: 902311.7 });
  });
});

describe('shelly Gen2+ devices without a Switch component', () => {
  it('reads a Pro 3EM through EM.GetStatus, found once in Shelly.GetStatus', async () => {
    const fake = await pro3em();
    const a = create(fake);
    const expected = { power: 1234.5, power_a: 400.1, power_b: 205.4, power_c: 629 };
    expect(await values(a)).toEqual(expected);
    expect(await values(a)).toEqual(expected);
    expect(fake.hits).toEqual(['/shelly', '/rpc/Shelly.GetStatus', '/rpc/EM.GetStatus?id=0']);
  });

  it('skips a Pro 3EM phase whose active power is out of range, and the total with it', async () => {
    const fake = await pro3em();
    fake.components!['em:0'] = { ...(fake.components!['em:0'] as object), b_errors: ['out_of_range:active_power'] };
    const logger = captureLogger();
    expect(await values(create(fake, {}, logger))).toEqual({ power_a: 400.1, power_c: 629 });
    expect(warnings(logger)).toHaveLength(2);
  });

  it('fails with a retryable payload error when the Pro 3EM reports a meter failure', async () => {
    const fake = await pro3em();
    fake.components!['em:0'] = { ...(fake.components!['em:0'] as object), errors: ['power_meter_failure'] };
    expect(await failure(create(fake))).toMatchObject({ code: 'ER_ADAPTER_PAYLOAD', retryable: true });
  });

  it('reads a PM Mini Gen3 through PM1.GetStatus', async () => {
    const fake = keep(
      await startFakeShellyModel({
        info: shellyJson('shelly-pm-mini-g3-1.4.4-info.json'),
        components: { 'pm1:0': shellyJson('shelly-pm-mini-g3-1.4.4-pm1-status.json') },
      }),
    );
    const a = create(fake, { gen: 2 });
    expect(await values(a)).toEqual({ power: 55.5, energy: 10234.127 });
    expect(await values(a)).toEqual({ power: 55.5, energy: 10234.127 });
    expect(fake.hits).toEqual(['/rpc/Shelly.GetStatus', '/rpc/PM1.GetStatus?id=0']);
  });

  it('reads the configured EM1 channel of a Pro EM, ignoring its non-metering contactor switch', async () => {
    const em1 = (id: number, act_power: number) => ({ id, current: 2.598, voltage: 234.9, act_power, aprt_power: 612.4, pf: 0.84, freq: 50, calibration: 'factory' });
    const fake = keep(
      await startFakeShellyModel({
        info: shellyJson('shelly-pro-em-1.4.4-info.json'),
        components: {
          'switch:0': { id: 0, source: 'init', output: false, temperature: { tC: 29.4, tF: 85 } },
          'em1:0': em1(0, 18.7),
          'em1:1': em1(1, 501.8),
          'em1data:0': { id: 0, total_act_energy: 0, total_act_ret_energy: 0 },
          'em1data:1': { id: 1, total_act_energy: 6644.9, total_act_ret_energy: 2595.26 },
        },
      }),
    );
    const a = create(fake, { channel: 1 });
    expect(await values(a)).toEqual({ power: 501.8 });
    expect(await values(a)).toEqual({ power: 501.8 });
    expect(fake.hits.at(-1)).toBe('/rpc/EM1.GetStatus?id=1');
  });

  it('names the channel and the metering components when the channel does not exist', async () => {
    const err = await failure(create(await pro3em(), { channel: 1 }));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_CONFIG', retryable: false });
    expect(err.message).toMatch(/channel 1 does not exist: this Pro3EM meters power with em:0/);
  });

  it('refuses a device without a metering component, naming what it found, instead of a bare 404', async () => {
    const fake = keep(
      await startFakeShellyModel({
        info: { id: 'shellyplus1-a8032ab00000', mac: 'A8032AB00000', model: 'SNSW-001X16EU', gen: 2, app: 'Plus1', ver: '1.0.8' },
        components: {
          'input:0': { id: 0, state: false },
          'switch:0': { id: 0, source: 'init', output: false, temperature: { tC: 41.2, tF: 106.2 } },
        },
      }),
    );
    const err = await failure(create(fake));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_CONFIG', retryable: false });
    expect(err.message).toMatch(/unsupported device\/component: this Plus1 has no power-metering component .*its components are input:0, switch:0/);
  });
  it('finds the components again after a profile change (Pro 3EM triphase to monophase)', async () => {
    const fake = await pro3em();
    const a = create(fake);
    expect((await values(a))['power']).toBe(1234.5);
    const em1 = (id: number, act_power: number) => ({ id, current: 1, voltage: 231, act_power, aprt_power: act_power, pf: 1, freq: 50, calibration: 'factory' });
    fake.info = { ...fake.info, profile: 'monophase' };
    fake.components = { 'em1:0': em1(0, 300), 'em1:1': em1(1, 200), 'em1:2': em1(2, 100) };
    expect(await failure(a)).toMatchObject({ code: 'ER_ADAPTER_HTTP', retryable: true });
    expect(await values(a)).toEqual({ power: 300 });
  });

  it('gives a clear non-retryable error, not a bare 404, when neither Shelly.GetStatus nor Switch.GetStatus exists', async () => {
    const fake = keep(
      await startFakeShellyModel({
        info: shellyJson('shelly-pro-3em-1.4.4-info.json'),
        components: { 'em:0': shellyJson('shelly-pro-3em-1.4.4-em-status.json') },
        noShellyGetStatus: true,
      }),
    );
    const err = await failure(create(fake));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_CONFIG', retryable: false });
    expect(err.message).toMatch(/unsupported device\/component: this Pro3EM has no switch:0 and does not list its components \(Switch\.GetStatus\?id=0: HTTP 404\)/);
  });
});
