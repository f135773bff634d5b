import { AdapterError, type AdapterDefinition, type PowerAdapter } from '@energyrecorder/core';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { idrac8GuiAdapter } from '../../src/idrac8-gui/adapter.js';
import { ibmcGuiAdapter } from '../../src/ibmc-gui/adapter.js';
import { iloGuiAdapter } from '../../src/ilo-gui/adapter.js';
import { iloAdapter } from '../../src/ilo/adapter.js';
import { intelGuiAdapter } from '../../src/intel-gui/adapter.js';
import { rpimonAdapter } from '../../src/rpimon/adapter.js';
import { shellyAdapter } from '../../src/shelly/adapter.js';
import { captureLogger } from '../fakes/capture-logger.js';
import {
  startFakeIbmc,
  startFakeIdrac8,
  startFakeIloGui,
  startFakeIloRest,
  startFakeIntelGui,
  startFakeRpiMonitor,
  startFakeShelly,
  type FakeDevice,
} from '../fakes/http-devices.js';
import { makeSelfSignedCert } from '../fakes/http-server.js';

const USER = 'admin';
const PASS = 'p&ss=wörd 1';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
function keep<T extends { close(): Promise<void> }>(x: T): T {
  opened.push(x);
  return x;
}

function create<S extends AdapterDefinition>(def: S, entry: Record<string, unknown>, logger = captureLogger()): PowerAdapter {
  const config = def.configSchema.parse({ id: 'dev', type: def.type, ...entry });
  return keep(def.create(config, { logger, requestTimeoutMs: 3000, equipmentId: 'dev' }));
}
const read = (a: PowerAdapter) => a.read(new AbortController().signal);
async function failure(a: PowerAdapter): Promise<AdapterError> {
  const err: unknown = await read(a).then(
    () => new Error('read succeeded'),
    (e: unknown) => e,
  );
  if (err instanceof AdapterError) return err;
  throw err;
}

describe('ilo adapter', () => {
  it.each([
    ['2.1', 214],
    ['2.4', 191],
  ] as const)('reads FastPowerMeter when the firmware is %s', async (firmware, watts) => {
    const fake = keep(await startFakeIloRest({ firmware, user: USER, pass: PASS }));
    // iLO is https in the original; the fake is plain http, so the scheme is given in host.
    const a = create(iloAdapter, { host: fake.origin, user: USER, pass: PASS });
    expect(await read(a)).toEqual([expect.objectContaining({ sensor: 'power', unit: 'W', value: watts })]);
  });

  it.each(['2.1', '2.4'] as const)('sums FastPowerMeter over every chassis when firmware %s lists several', async (firmware) => {
    const fake = keep(await startFakeIloRest({ firmware, user: USER, pass: PASS, chassis: 3 }));
    const base = firmware === '2.1' ? 214 : 191;
    const a = create(iloAdapter, { host: fake.origin, user: USER, pass: PASS });
    expect(await read(a)).toEqual([expect.objectContaining({ sensor: 'power', value: 3 * base + 100 + 200 })]);
  });

  it('names the iLO MessageID when credentials are refused', async () => {
    const fake = keep(await startFakeIloRest({ firmware: '2.4', user: USER, pass: PASS }));
    const err = await failure(create(iloAdapter, { host: fake.origin, user: USER, pass: 'nope' }));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_AUTH' });
    expect(err.message).toContain('iLO.0.10.ExtendedInfo');
  });

  it('reads the last FastPowerMeter sample of every chassis when iLO 5 redirects /rest/v1 to its Redfish collection', async () => {
    const fake = keep(await startFakeIloRest({ firmware: 'ilo5', user: USER, pass: PASS, chassis: 2 }));
    const a = create(iloAdapter, { host: fake.origin, user: USER, pass: PASS });
    expect(await read(a)).toEqual([expect.objectContaining({ sensor: 'power', unit: 'W', value: 312 + 412 })]);
    // Kept chassis list: the second poll reads the same chassis again.
    expect(await read(a)).toEqual([expect.objectContaining({ value: 312 + 412 })]);
  });

  it('names the Redfish MessageId when iLO 5 refuses the credentials', async () => {
    const fake = keep(await startFakeIloRest({ firmware: 'ilo5', user: USER, pass: PASS }));
    const err = await failure(create(iloAdapter, { host: fake.origin, user: USER, pass: 'nope' }));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_AUTH' });
    expect(err.message).toContain('Base.1.4.NoValidSession');
  });

  it('reports a wrong-typed Average as a payload error', async () => {
    const fake = keep(await startFakeIloRest({ firmware: '2.4', user: USER, pass: PASS }));
    fake.payload = JSON.stringify({ PowerDetail: [{ Average: 'n/a' }] });
    expect(await failure(create(iloAdapter, { host: fake.origin, user: USER, pass: PASS }))).toMatchObject({ code: 'ER_ADAPTER_PAYLOAD' });
  });
});

describe('shelly adapter', () => {
  it('reads a Gen1 plug with Basic auth after detecting the generation', async () => {
    const fake = keep(await startFakeShelly({ gen: 1, user: USER, pass: PASS }));
    const r = await read(create(shellyAdapter, { host: fake.origin, user: USER, pass: PASS }));
    expect(r.map((x) => [x.sensor, x.value])).toEqual([['temperature', 31.2], ['power', 23.45]]);
  });

  it('reads a Gen2 plug with Digest SHA-256 auth, twice on one challenge', async () => {
    const fake = keep(await startFakeShelly({ gen: 2, user: USER, pass: PASS }));
    const logger = captureLogger();
    const a = create(shellyAdapter, { host: fake.origin, user: USER, pass: PASS }, logger);
    expect((await read(a)).find((x) => x.sensor === 'power')?.value).toBe(118.6);
    expect((await read(a)).find((x) => x.sensor === 'energy')).toMatchObject({ unit: 'Wh', value: 5123.456 });
    expect(logger.lines.join('\n')).not.toContain(PASS);
  });

  it('answers a renewed Digest nonce within the same read when the device rotates it (401 then OK)', async () => {
    const fake = keep(await startFakeShelly({ gen: 2, user: USER, pass: PASS }));
    const a = create(shellyAdapter, { host: fake.origin, user: USER, pass: PASS, gen: 2, auth: 'digest' });
    expect((await read(a)).find((x) => x.sensor === 'power')?.value).toBe(118.6);
    fake.rotateNonce();
    expect((await read(a)).find((x) => x.sensor === 'power')?.value).toBe(118.6);
  });

  it('reads the configured switch of a two-channel Gen2 relay', async () => {
    const fake = keep(await startFakeShelly({ gen: 2, user: USER, pass: PASS }));
    const r = await read(create(shellyAdapter, { host: fake.origin, user: USER, pass: PASS, channel: 1 }));
    expect(Object.fromEntries(r.map((x) => [x.sensor, x.value]))).toMatchObject({ power: 61.2, energy: 777.5 });
  });

  it('reads a Gen1 plug when the generation is configured rather than detected', async () => {
    const fake = keep(await startFakeShelly({ gen: 1, user: USER, pass: PASS }));
    const r = await read(create(shellyAdapter, { host: fake.origin, user: USER, pass: PASS, gen: 1, auth: 'basic' }));
    expect(r.find((x) => x.sensor === 'power')?.value).toBe(23.45);
  });

  it('fails with ER_ADAPTER_AUTH when the Digest password is wrong', async () => {
    const fake = keep(await startFakeShelly({ gen: 2, user: USER, pass: PASS }));
    expect(await failure(create(shellyAdapter, { host: fake.origin, user: USER, pass: 'bad', gen: 2 }))).toMatchObject({ code: 'ER_ADAPTER_AUTH' });
  });

  it('reports truncated JSON as a payload error', async () => {
    const fake = keep(await startFakeShelly({ gen: 1 }));
    fake.payload = '{"meters":[{"power":12';
    expect((await failure(create(shellyAdapter, { host: fake.origin }))).message).toMatch(/invalid JSON/);
  });
});

describe('rpimon adapter', () => {
  it('reads dynamic.json over plain http from ip:port', async () => {
    const fake = keep(await startFakeRpiMonitor());
    const r = await read(create(rpimonAdapter, { host: fake.hostPort }));
    expect(r).toHaveLength(12);
  });

  it('skips a wrong-typed value and keeps the others, never sending a made-up number', async () => {
    const fake = keep(await startFakeRpiMonitor());
    fake.payload = JSON.stringify({ soc_temp: 'hot', load1: '0.52', cpu_frequency: [1500], uptime: null });
    const r = await read(create(rpimonAdapter, { host: fake.hostPort }));
    expect(r.map((x) => [x.sensor, x.unit, x.value])).toEqual([['load1', 'U-Ref', 0.52]]);
  });

  it.each([
    ['truncated JSON', '{"soc_temp": 48.6', /invalid JSON/],
    ['no known key with a number', '{"soc_temp":"n/a","upgrade":"0 package(s)"}', /dynamic\.json has none of/],
    ['a JSON array', '[1,2,3]', /not a JSON object/],
  ])('gives a payload error when dynamic.json is %s', async (_what, payload, message) => {
    const fake = keep(await startFakeRpiMonitor());
    fake.payload = payload;
    const err = await failure(create(rpimonAdapter, { host: fake.hostPort }));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_PAYLOAD', adapterType: 'rpimon' });
    expect(err.message).toMatch(message);
  });
});

describe('web UI adapters', () => {
  const cases: [string, AdapterDefinition, (o: { user: string; pass: string }) => Promise<FakeDevice>, number][] = [
    ['ilo-gui', iloGuiAdapter, startFakeIloGui, 163],
    ['idrac8-gui', idrac8GuiAdapter, startFakeIdrac8, 257],
    ['intel-gui', intelGuiAdapter, startFakeIntelGui, 143],
    ['ibmc-gui', ibmcGuiAdapter, startFakeIbmc, 276],
  ];

  it.each(cases)('%s logs in with an encoded password, reads power and logs out', async (_name, def, start, watts) => {
    const fake = keep(await start({ user: USER, pass: PASS }));
    const a = create(def, { host: fake.origin, user: USER, pass: PASS });
    expect(await read(a)).toEqual([expect.objectContaining({ sensor: 'power', unit: 'W', value: watts })]);
    expect([fake.logins, fake.logouts]).toEqual([1, 1]);
  });

  it.each(cases)('%s still logs out when the power payload is garbage', async (_name, def, start) => {
    const fake = keep(await start({ user: USER, pass: PASS }));
    fake.payload = 'garbage';
    const err = await failure(create(def, { host: fake.origin, user: USER, pass: PASS }));
    expect(err.code).toBe('ER_ADAPTER_PAYLOAD');
    expect(fake.logouts).toBe(1);
  });

  it.each(cases)('%s fails clearly when the credentials are refused', async (_name, def, start) => {
    const fake = keep(await start({ user: USER, pass: PASS }));
    const err = await failure(create(def, { host: fake.origin, user: USER, pass: 'wrong' }));
    expect(err).toMatchObject({ adapterType: def.type, code: 'ER_ADAPTER_AUTH', retryable: false });
    expect(fake.logins).toBe(0);
  });

  it('checks the certificate of an https web UI unless verify_cert is false', async () => {
    const dir = makeTempDir('ilo-gui-tls');
    try {
      const tls = await makeSelfSignedCert(dir);
      const fake = keep(await startFakeIloGui({ user: USER, pass: PASS, tls }));
      expect(await failure(create(iloGuiAdapter, { host: fake.hostPort, user: USER, pass: PASS }))).toMatchObject({ code: 'ER_ADAPTER_TLS' });
      const ok = create(iloGuiAdapter, { host: fake.hostPort, user: USER, pass: PASS, verify_cert: false });
      expect((await read(ok))[0]?.value).toBe(163);
    } finally {
      removeDir(dir);
    }
  });
});
