import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdapterError, HttpStatusError, type PowerAdapter } from '@energyrecorder/core';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { redfishAdapter } from '../../src/redfish/adapter.js';
import { captureLogger } from '../fakes/capture-logger.js';
import { makeSelfSignedCert, type TestCert } from '../fakes/http-server.js';
import { startFakeBmc, type FakeBmc } from '../fakes/redfish-bmc.js';
import { loadRedfishFixture, redfishFixtureNames } from '../fakes/redfish-tree.js';

const USER = 'root';
const PASS = 's3cr3t-Pa55';

function create(entry: Record<string, unknown>, logger = captureLogger(), requestTimeoutMs = 3000): PowerAdapter {
  const config = redfishAdapter.configSchema.parse({ id: 'bmc', type: 'redfish', ...entry });
  return redfishAdapter.create(config, { logger, requestTimeoutMs, equipmentId: 'bmc' });
}

async function readError(adapter: PowerAdapter, signal = new AbortController().signal): Promise<AdapterError> {
  try {
    await adapter.read(signal);
  } catch (err) {
    if (err instanceof AdapterError) return err;
    throw err;
  }
  throw new Error('read succeeded');
}

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
async function bmc(opts: Parameters<typeof startFakeBmc>[0]): Promise<FakeBmc> {
  const b = await startFakeBmc(opts);
  opened.push(b);
  return b;
}
function track(a: PowerAdapter): PowerAdapter {
  opened.push(a);
  return a;
}

describe('redfish adapter against a fake BMC', () => {
  it('reuses one session across polls, follows setPower, and deletes the session on close', async () => {
    const fake = await bmc({ vendor: 'dell-idrac9-6.10', user: USER, pass: PASS });
    const logger = captureLogger();
    const adapter = create({ host: fake.url, user: USER, pass: PASS }, logger);
    const first = await adapter.read(new AbortController().signal);
    expect(first.find((r) => r.sensor === 'power')).toMatchObject({ value: 312, unit: 'W', source: 'EnvironmentMetrics' });
    fake.setPower(455);
    const second = await adapter.read(new AbortController().signal);
    expect(second.find((r) => r.sensor === 'power')?.value).toBe(455);
    expect(fake.stats.logins).toBe(1);
    await adapter.close();
    expect(fake.stats.logouts).toBe(1);
    expect(fake.stats.activeSessions).toBe(0);
    expect(logger.lines.join('\n')).not.toContain(PASS);
  });

  it('deletes the session on this device when the BMC answers the login with an absolute Location elsewhere', async () => {
    // iLO 4 names its own address in Location; behind a port forward that address (here port 1: nothing) is not
    // where we reach it, and the session token must not be sent to another host anyway.
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80', user: USER, pass: PASS, locationOrigin: 'https://127.0.0.1:1' });
    const adapter = create({ host: fake.url, user: USER, pass: PASS });
    expect((await adapter.read(new AbortController().signal))[0]).toMatchObject({ sensor: 'power', value: 187 });
    await adapter.close();
    expect(fake.stats).toMatchObject({ logins: 1, logouts: 1, activeSessions: 0 });
  });

  it('accepts a login answered with 204 and reads through legacy Power', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo5-2.72', user: USER, pass: PASS, loginStatus: 204 });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS }));
    expect((await adapter.read(new AbortController().signal))[0]).toMatchObject({ sensor: 'power', value: 142, source: 'Power' });
  });

  it('falls back to Basic auth when the service has no SessionService', async () => {
    const fake = await bmc({ vendor: 'lenovo-xcc-8.30', user: USER, pass: PASS, noSessionService: true });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS }));
    expect((await adapter.read(new AbortController().signal))[0]).toMatchObject({ value: 256 });
    expect(fake.stats.logins).toBe(0);
  });

  it('sends Basic auth on every request when auth is basic', async () => {
    const fake = await bmc({ vendor: 'supermicro-x12-01.01', user: USER, pass: PASS });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS, auth: 'basic' }));
    expect((await adapter.read(new AbortController().signal))[0]).toMatchObject({ value: 204 });
    expect(fake.stats.logins).toBe(0);
  });

  it('logs in again when the BMC forgets the session or refuses it once', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0', user: USER, pass: PASS });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS }));
    await adapter.read(new AbortController().signal);
    fake.expireSessions();
    expect((await adapter.read(new AbortController().signal))[0]).toMatchObject({ value: 431.5 });
    fake.setFaults({ unauthorizedNext: 1 });
    expect((await adapter.read(new AbortController().signal))[0]).toMatchObject({ value: 431.5 });
    expect(fake.stats.logins).toBe(3);
  });

  it('fails with ER_ADAPTER_AUTH, not retryable, when the credentials are wrong', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0', user: USER, pass: PASS });
    const err = await readError(track(create({ host: fake.url, user: USER, pass: 'wrong' })));
    expect(err).toMatchObject({ code: 'ER_ADAPTER_AUTH', retryable: false, adapterType: 'redfish' });
  });

  it('reports 503 with the Retry-After delay as a retryable error', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0' });
    const adapter = track(create({ host: fake.url }));
    await adapter.read(new AbortController().signal);
    fake.setFaults({ unavailableNext: 10, retryAfterS: 7 });
    const err = await readError(adapter);
    expect(err).toMatchObject({ code: 'ER_ADAPTER_HTTP', retryable: true });
    expect(err.cause).toBeInstanceOf(HttpStatusError);
    expect((err.cause as HttpStatusError).retryAfterMs).toBe(7000);
    expect(err.message).toMatch(/HTTP 503 \(retry after 7000 ms\)/);
  });

  it('times out on a slow or hanging BMC and honours an abort signal', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0' });
    const adapter = track(create({ host: fake.url, timeout: 0.3 }));
    await adapter.read(new AbortController().signal);
    fake.setFaults({ delayMs: 1500 });
    expect(await readError(adapter)).toMatchObject({ code: 'ER_ADAPTER_TIMEOUT', retryable: true });
    fake.setFaults({ hang: true });
    expect(await readError(adapter)).toMatchObject({ code: 'ER_ADAPTER_TIMEOUT' });
    const slowAdapter = track(create({ host: fake.url, timeout: 30 }));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    expect(await readError(slowAdapter, ctl.signal)).toMatchObject({ code: 'ER_ADAPTER_ABORTED' });
  });

  it('reports truncated JSON as a payload error', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0' });
    const adapter = track(create({ host: fake.url }));
    fake.setFaults({ truncate: true });
    const err = await readError(adapter);
    expect(err).toMatchObject({ code: 'ER_ADAPTER_PAYLOAD' });
    expect(err.message).toMatch(/invalid JSON/);
  });

  it('refuses a wrong-typed reading instead of sending a bogus number', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80' });
    fake.setResource('/redfish/v1/Chassis/1/Power', { PowerControl: [{ PowerConsumedWatts: [187] }] });
    const err = await readError(track(create({ host: fake.url, temperature: false })));
    expect(err.message).toMatch(/PowerConsumedWatts is \[187\], not a number/);
  });

  it('reads the original USB-meter bridge, which has no service root, Id or @odata.id', async () => {
    const fake = await bmc({ vendor: 'synthetic-yoko2redfish-1.0' });
    const adapter = track(create({ host: fake.hostPort }));
    expect(await adapter.read(new AbortController().signal)).toEqual([
      expect.objectContaining({ sensor: 'power', value: 87, source: 'Power' }),
    ]);
  });

  it('serves many devices from one fake under path prefixes', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0', devices: 3 });
    fake.setPower(100, 1);
    const values = await Promise.all(
      fake.urls.map(async (url) => {
        const a = track(create({ host: url, temperature: false }));
        return (await a.read(new AbortController().signal))[0]?.value;
      }),
    );
    expect(values).toEqual([431.5, 100, 431.5]);
  });
});

describe('redfish adapter and links to another origin', () => {
  // A BMC (or whatever answers in its place) lists its chassis with absolute @odata.id values naming another
  // host. The links are read from the configured BMC; the other host never sees a request, let alone a secret.
  let other: Server;
  let bmcServer: Server;
  const seenByOther: Array<Record<string, unknown>> = [];
  const seenByBmc: string[] = [];
  let bmcUrl = '';

  const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> => {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port };
  };
  const send = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    const o = await listen((req, res) => {
      seenByOther.push({ url: req.url, authorization: req.headers['authorization'], token: req.headers['x-auth-token'] });
      send(res, {});
    });
    other = o.server;
    const elsewhere = `http://127.0.0.1:${o.port}`;
    const b = await listen((req, res) => {
      const url = (req.url ?? '').replace(/\/+$/, '');
      seenByBmc.push(`${req.method} ${url}`);
      if (req.method === 'POST') {
        send(res, { '@odata.id': '/redfish/v1/SessionService/Sessions/1' }, 201, { 'x-auth-token': 'SECRET-TOKEN', location: '/redfish/v1/SessionService/Sessions/1' });
      } else if (url === '/redfish/v1') send(res, { Chassis: { '@odata.id': `${elsewhere}/redfish/v1/Chassis` } });
      else if (url === '/redfish/v1/Chassis') send(res, { Members: [{ '@odata.id': `${elsewhere}/redfish/v1/Chassis/1` }] });
      else if (url === '/redfish/v1/Chassis/1') send(res, { Id: '1', Power: { '@odata.id': `${elsewhere}/redfish/v1/Chassis/1/Power` } });
      else if (url === '/redfish/v1/Chassis/1/Power') send(res, { Id: 'Power', PowerControl: [{ PowerConsumedWatts: 321 }] });
      else send(res, {}, req.method === 'DELETE' ? 204 : 404);
    });
    bmcServer = b.server;
    bmcUrl = `http://127.0.0.1:${b.port}`;
  });
  afterAll(async () => {
    await new Promise((r) => other.close(r));
    await new Promise((r) => bmcServer.close(r));
  });

  it.each(['session', 'basic'] as const)('reads the links on the configured BMC and sends nothing elsewhere with %s auth', async (auth) => {
    const adapter = track(create({ host: bmcUrl, user: USER, pass: PASS, auth, temperature: false }));
    const reading = await adapter.read(new AbortController().signal);
    expect(reading.find((r) => r.sensor === 'power')?.value).toBe(321);
    expect(seenByBmc).toEqual(expect.arrayContaining(['GET /redfish/v1/Chassis/1/Power']));
    expect(seenByOther).toEqual([]);
  });
});

describe('redfish adapter against every vendor fixture served over HTTP', () => {
  it.each(redfishFixtureNames())('reads power, source, energy, per-chassis power and temperatures when the BMC is %s', async (name) => {
    const { expected } = loadRedfishFixture(name);
    const fake = await bmc({ vendor: name, user: USER, pass: PASS });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS }));
    for (let poll = 0; poll < 2; poll++) {
      const readings = await adapter.read(new AbortController().signal);
      expect(readings.find((r) => r.sensor === 'power')).toMatchObject({ unit: 'W', value: expected.power, source: expected.powerSource });
      const energy = readings.find((r) => r.sensor === 'energy');
      if (expected.energy === undefined) expect(energy).toBeUndefined();
      else expect(energy).toMatchObject({ unit: 'kWh', value: expected.energy });
      const of = (keep: (sensor: string, unit: string) => boolean) =>
        Object.fromEntries(readings.filter((r) => keep(r.sensor, r.unit)).map((r) => [r.sensor, r.value]));
      expect(of((_s, unit) => unit === 'Celsius')).toEqual(expected.temperatures);
      expect(of((sensor) => sensor.endsWith('/power'))).toEqual(expected.details ?? {});
    }
    expect(fake.stats.logins).toBe(1);
  });

  it('keeps the other chassis readings, and leaves the total out, when one chassis of an enclosure answers 500', async () => {
    const fake = await bmc({ vendor: 'synthetic-blade-enclosure-1.0' });
    const adapter = track(create({ host: fake.url }));
    expect((await adapter.read(new AbortController().signal)).find((r) => r.sensor === 'power')?.value).toBe(1150);
    fake.setFaults({ statusFor: { '/redfish/v1/Chassis/Standalone/Power': 500 } });
    const partial = await adapter.read(new AbortController().signal);
    expect(Object.fromEntries(partial.map((r) => [r.sensor, r.value]))).toEqual({
      'Enclosure/power': 1000,
      'Blade1/power': 400,
      'Blade2/power': 350,
    });
    fake.clearFaults();
    expect((await adapter.read(new AbortController().signal)).find((r) => r.sensor === 'power')?.value).toBe(1150);
  });
});

describe('redfish adapter over TLS', () => {
  let dir: string;
  let cert: TestCert;
  beforeAll(async () => {
    dir = makeTempDir('redfish-tls');
    cert = await makeSelfSignedCert(dir);
  });
  afterAll(() => removeDir(dir));

  it('rejects a self-signed certificate by default', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo5-2.72', tls: cert });
    expect(await readError(track(create({ host: fake.hostPort })))).toMatchObject({ code: 'ER_ADAPTER_TLS', retryable: false });
  });

  it('reads when verify_cert is false, and when the certificate is given as ca_file', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo5-2.72', tls: cert });
    const insecure = track(create({ host: fake.hostPort, verify_cert: false }));
    expect((await insecure.read(new AbortController().signal))[0]?.value).toBe(142);
    const pinned = track(create({ host: fake.hostPort, ca_file: cert.certFile }));
    expect((await pinned.read(new AbortController().signal))[0]?.value).toBe(142);
  });

  it('takes a CA bundle path in verify_cert (requests\' verify=<path>, the original\'s files), and refuses a different ca_file next to it', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo5-2.72', tls: cert });
    const pathForm = track(create({ host: fake.hostPort, verify_cert: cert.certFile }));
    expect((await pathForm.read(new AbortController().signal))[0]?.value).toBe(142);
    const same = track(create({ host: fake.hostPort, verify_cert: cert.certFile, ca_file: cert.certFile, timeout: null }));
    expect((await same.read(new AbortController().signal))[0]?.value).toBe(142);
    expect(() => create({ host: fake.hostPort, verify_cert: cert.certFile, ca_file: '/etc/other-ca.pem' })).toThrow(/keep one of them/);
    // A bare word is a slip of a boolean, not a file name.
    expect(() => create({ host: fake.hostPort, verify_cert: 'ture' })).toThrow(/verify_cert/);
  });

  it('falls back to http when nothing speaks TLS on the port', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo5-2.72' });
    expect((await track(create({ host: fake.hostPort })).read(new AbortController().signal))[0]?.value).toBe(142);
  });
});
