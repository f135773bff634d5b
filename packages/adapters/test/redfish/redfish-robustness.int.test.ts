import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AdapterError, type PowerAdapter, type Reading } from '@energyrecorder/core';
import { waitFor } from '@energyrecorder/testkit';
import { redfishAdapter } from '../../src/redfish/adapter.js';
import { REDISCOVER_MS } from '../../src/redfish/reader.js';
import { captureLogger } from '../fakes/capture-logger.js';
import { startFakeBmc, type FakeBmc } from '../fakes/redfish-bmc.js';

// Faults a BMC shows in service (a supply pulled or plugged back, one 404 while its web service restarts, a late
// login, a paged collection, a resource the user may not read), each against a fake BMC on 127.0.0.1.

const USER = 'root';
const PASS = 's3cr3t-Pa55';
const PSUS = '/redfish/v1/Chassis/chassis/PowerSubsystem/PowerSupplies';

function create(entry: Record<string, unknown>, logger = captureLogger(), requestTimeoutMs = 3000): PowerAdapter {
  const config = redfishAdapter.configSchema.parse({ id: 'bmc', type: 'redfish', ...entry });
  return redfishAdapter.create(config, { logger, requestTimeoutMs, equipmentId: 'bmc' });
}

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  jest.restoreAllMocks();
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
const read = (a: PowerAdapter): Promise<Reading[]> => a.read(new AbortController().signal);
const power = (readings: readonly Reading[]): number | undefined => readings.find((r) => r.sensor === 'power')?.value;
async function readError(a: PowerAdapter): Promise<AdapterError> {
  try {
    await read(a);
  } catch (err) {
    if (err instanceof AdapterError) return err;
    throw err;
  }
  throw new Error('read succeeded');
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('redfish PowerSubsystem supplies', () => {
  // synthetic-modern-bmc: PSU0 216.25 W + PSU1 215.25 W, PSU2 an empty bay (Absent); no other source has a value.
  it('counts a supply plugged back in from the next poll on', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0' });
    const adapter = track(create({ host: fake.url, temperature: false }));
    expect(power(await read(adapter))).toBe(431.5);
    fake.setResource(`${PSUS}/PSU2`, { Id: 'PSU2', Status: { State: 'Enabled' }, Metrics: { '@odata.id': `${PSUS}/PSU2/Metrics` } });
    fake.setResource(`${PSUS}/PSU2/Metrics`, { InputPowerWatts: { Reading: 100 } });
    expect(power(await read(adapter))).toBe(531.5);
    expect(power(await read(adapter))).toBe(531.5);
  });

  it('keeps reading the other supplies when one is pulled and its Metrics answer 404', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0' });
    const adapter = track(create({ host: fake.url }));
    expect(power(await read(adapter))).toBe(431.5);
    fake.setResource(`${PSUS}/PSU1`, { Id: 'PSU1', Status: { State: 'Absent' } });
    fake.setResource(`${PSUS}/PSU1/Metrics`, undefined);
    for (let poll = 0; poll < 3; poll++) {
      expect((await read(adapter)).find((r) => r.sensor === 'power')).toMatchObject({ value: 216.25, source: 'PowerSubsystem' });
    }
  });

  it('leaves the total out while a supply that is still on has no Metrics, and reads it once they are back', async () => {
    const fake = await bmc({ vendor: 'synthetic-modern-bmc-1.0' });
    const logger = captureLogger();
    const adapter = track(create({ host: fake.url }, logger));
    expect(power(await read(adapter))).toBe(431.5);
    fake.setFaults({ statusFor: { [`${PSUS}/PSU1/Metrics`]: 404 } });
    const during = await read(adapter);
    expect(power(during)).toBeUndefined();
    expect(during.some((r) => r.unit === 'Celsius')).toBe(true);
    expect(logger.lines.join('\n')).toMatch(/PSU1: Metrics not found/);
    fake.clearFaults();
    expect(power(await read(adapter))).toBe(431.5);
  });
});

describe('redfish power source that answered 404 once', () => {
  it('asks a source that served power again on the next poll after a 404, so a blip costs one poll', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80', user: USER, pass: PASS });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS }));
    expect(power(await read(adapter))).toBe(187);
    fake.setFaults({ statusFor: { '/redfish/v1/Chassis/1/Power': 404 } });
    const blip = await read(adapter);
    expect(power(blip)).toBeUndefined();
    expect(blip.length).toBeGreaterThan(0); // temperatures still come: the collector never rebuilds the adapter
    fake.clearFaults();
    expect(power(await read(adapter))).toBe(187);
  });

  it('remembers a source that never served as absent until the rediscovery interval, then asks it again', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80', user: USER, pass: PASS });
    fake.setFaults({ statusFor: { '/redfish/v1/Chassis/1/Power': 404 } });
    const adapter = track(create({ host: fake.url, user: USER, pass: PASS }));
    const start = Date.now();
    let offset = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => start + offset);
    expect(power(await read(adapter))).toBeUndefined();
    fake.clearFaults();
    const asked = (): number => fake.stats.log.filter((l) => l.includes('/Chassis/1/Power')).length;
    const before = asked();
    // Within the interval the 404 is remembered (no GET per poll for a source the BMC does not have)...
    offset = REDISCOVER_MS - 1000;
    expect(power(await read(adapter))).toBeUndefined();
    expect(asked()).toBe(before);
    // ...and after it the chassis are discovered again and the source is asked again.
    offset = REDISCOVER_MS + 1000;
    expect(power(await read(adapter))).toBe(187);
    expect(power(await read(adapter))).toBe(187);
  });
});

describe('redfish total over several chassis', () => {
  it('leaves the total out, with a warning, when a metered chassis reads null, instead of under-reporting it', async () => {
    // synthetic-blade-enclosure: Enclosure 1000 W (Blade1 400 + Blade2 350 inside it) + Standalone 150 W.
    const fake = await bmc({ vendor: 'synthetic-blade-enclosure-1.0' });
    const logger = captureLogger();
    const adapter = track(create({ host: fake.url }, logger));
    expect(power(await read(adapter))).toBe(1150);
    fake.setResource('/redfish/v1/Chassis/Standalone/Power', { PowerControl: [{ MemberId: '0', PowerConsumedWatts: null }] });
    const partial = await read(adapter);
    expect(Object.fromEntries(partial.map((r) => [r.sensor, r.value]))).toEqual({ 'Enclosure/power': 1000, 'Blade1/power': 400, 'Blade2/power': 350 });
    const warnings = logger.lines.filter((l) => l.includes('"level":"warn"')).join('\n');
    expect(warnings).toMatch(/chassis Standalone has no power value this poll.*PowerConsumedWatts is null/);
    fake.setResource('/redfish/v1/Chassis/Standalone/Power', { PowerControl: [{ MemberId: '0', PowerConsumedWatts: 150 }] });
    expect(power(await read(adapter))).toBe(1150);
  });

  it('reads every page of a paged Chassis collection, and warns when Members@odata.count disagrees', async () => {
    const fake = await bmc({ vendor: 'synthetic-blade-enclosure-1.0' });
    const member = (id: string) => ({ '@odata.id': `/redfish/v1/Chassis/${id}` });
    fake.setResource('/redfish/v1/Chassis', {
      'Members@odata.count': 4,
      Members: [member('Enclosure'), member('Blade1')],
      'Members@odata.nextLink': '/redfish/v1/Chassis?$skip=2',
    });
    fake.setResource('/redfish/v1/Chassis?$skip=2', { 'Members@odata.count': 4, Members: [member('Blade2'), member('Standalone')] });
    const logger = captureLogger();
    const adapter = track(create({ host: fake.url, temperature: false }, logger));
    const readings = await read(adapter);
    expect(power(readings)).toBe(1150);
    expect(readings.find((r) => r.sensor === 'Standalone/power')?.value).toBe(150);
    expect(fake.stats.log).toContain('GET /redfish/v1/Chassis?$skip=2');
    expect(logger.lines.filter((l) => l.includes('"level":"warn"'))).toEqual([]);

    const counted = await bmc({ vendor: 'synthetic-blade-enclosure-1.0' });
    counted.setResource('/redfish/v1/Chassis', {
      'Members@odata.count': 5,
      Members: [member('Enclosure'), member('Blade1'), member('Blade2'), member('Standalone')],
    });
    const countLogger = captureLogger();
    await read(track(create({ host: counted.url, temperature: false }, countLogger)));
    expect(countLogger.lines.join('\n')).toMatch(/"Members@odata.count":5,"read":4.*Members@odata.count disagrees/);
  });
});

describe('redfish sessions never pile up on the BMC', () => {
  it('keeps a login answered after the read gave up, and deletes it when the adapter is closed first', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80', user: USER, pass: PASS });
    fake.setFaults({ loginDelayMs: 500 });
    const adapter = create({ host: fake.url, user: USER, pass: PASS, timeout: 0.25 });
    expect(await readError(adapter)).toMatchObject({ code: 'ER_ADAPTER_TIMEOUT' });
    // The collector drops an adapter whose read failed: close() waits for the late login and deletes its session.
    await adapter.close();
    expect(fake.stats).toMatchObject({ logins: 1, logouts: 1, activeSessions: 0 });

    // Not closed: the late session is used by the next poll instead of opening another.
    const kept = track(create({ host: fake.url, user: USER, pass: PASS, timeout: 0.25 }));
    expect(await readError(kept)).toMatchObject({ code: 'ER_ADAPTER_TIMEOUT' });
    // The login answers 500 ms after it was sent; a wide margin keeps a loaded box from starting the next read first.
    await waitFor(() => fake.stats.logins === 2, 'the late login', 5000);
    await sleep(1500);
    fake.clearFaults();
    expect(power(await read(kept))).toBe(187);
    expect(fake.stats).toMatchObject({ logins: 2, activeSessions: 1 });
  });

  it('deletes a session it replaces, and does not log in again for a resource that refuses a fresh session', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80', user: USER, pass: PASS });
    fake.setFaults({ unauthorizedFor: ['/redfish/v1/Chassis/1/Thermal'] });
    const adapter = create({ host: fake.url, user: USER, pass: PASS });
    for (let poll = 0; poll < 5; poll++) {
      expect(power(await read(adapter))).toBe(187);
      expect(fake.stats.activeSessions).toBe(1);
    }
    expect(fake.stats.logins).toBe(2);
    // An expired session is still replaced, and the refused resource answers again once it is allowed.
    fake.expireSessions();
    fake.clearFaults();
    expect(power(await read(adapter))).toBe(187);
    expect((await read(adapter)).some((r) => r.unit === 'Celsius')).toBe(true);
    expect(fake.stats).toMatchObject({ logins: 3, activeSessions: 1 });
    await adapter.close();
    expect(fake.stats.activeSessions).toBe(0);
  });

  it('gives up on the logout within the collector close bound when the BMC hangs', async () => {
    const fake = await bmc({ vendor: 'hpe-ilo4-2.80', user: USER, pass: PASS });
    const adapter = create({ host: fake.url, user: USER, pass: PASS });
    await read(adapter);
    fake.setFaults({ hang: true });
    const started = Date.now();
    await adapter.close();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('redfish scheme auto-detection', () => {
  it('never sends the password over http when the TLS port resets once and http redirects to https', async () => {
    // One port: a TLS ClientHello is reset (a BMC web server restarting), plain HTTP answers 301 to https.
    const seen: string[] = [];
    const web = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
        res.writeHead(301, { location: `https://${req.headers.host ?? ''}${req.url ?? '/'}` });
        res.end();
      });
    });
    const sockets = new Set<Socket>();
    const front = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.once('data', (first: Buffer) => {
        if (first[0] === 0x16) {
          socket.resetAndDestroy();
          return;
        }
        socket.pause();
        socket.unshift(first);
        web.emit('connection', socket);
        process.nextTick(() => socket.resume());
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    opened.push({
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          front.close(() => resolve());
        }),
    });
    const port = (front.address() as AddressInfo).port;
    const adapter = track(create({ host: `127.0.0.1:${port}`, user: USER, pass: PASS }));
    for (let poll = 0; poll < 2; poll++) {
      const err = await readError(adapter);
      expect(err).toMatchObject({ code: 'ER_ADAPTER_UNREACHABLE', retryable: true });
      expect(err.message).toMatch(/http redirects to https.*not falling back to http/);
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.join('\n')).not.toContain(PASS);
    expect(seen.every((s) => s.startsWith('GET /redfish/v1/ '))).toBe(true);
  });
});
