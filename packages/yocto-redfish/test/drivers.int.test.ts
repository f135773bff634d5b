import { createHash } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { noopLogger } from '@energyrecorder/core';
import { makeTempDir, removeDir } from '@energyrecorder/testkit';
import { YoctopuceMeter } from '../src/yoctopuce-meter.js';
import { YokotoolMeter } from '../src/yokotool-meter.js';
import { createRedfishService } from '../src/redfish-service.js';
import { createMeters, parseSettings } from '../src/settings.js';

const signal = (): AbortSignal => AbortSignal.timeout(5000);

/** A fake VirtualHub serving one Yocto-Watt the way test-peers.md describes (16.16 fixed point). */
function fakeHub(serial: string, state: { watts: number; wh: number; up: boolean }): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!state.up) return send(404, {});
    const prefix = `/bySerial/${serial}/api/`;
    const url = req.url ?? '';
    if (!url.startsWith(prefix)) return send(404, {});
    const fn = url.slice(prefix.length);
    if (fn === 'module.json') return send(200, { productName: 'Yocto-Watt', serialNumber: serial, firmwareRelease: '59000' });
    if (fn === 'power.json') {
      return send(200, {
        logicalName: '',
        advertisedValue: state.watts.toFixed(1),
        unit: 'W',
        currentValue: Math.round(state.watts * 65536),
        meter: Math.round(state.wh * 65536),
        deliveredEnergyMeter: Math.round(state.wh * 65536),
        receivedEnergyMeter: 0,
        meterTimer: 60,
        powerFactor: 62259,
      });
    }
    if (fn === 'voltage1.json') return send(200, { unit: 'V', currentValue: 230 * 65536 });
    if (fn === 'current1.json') return send(200, { unit: 'mA', currentValue: 500 * 65536 });
    return send(404, {});
  });
}

describe('YoctopuceMeter through a hub', () => {
  const state = { watts: 123.25, wh: 10, up: true };
  const server = fakeHub('YWATTMK1-12345', state);
  let hubUrl = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  it('reads power, energy, voltage and current when the hub serves the device', async () => {
    const meter = new YoctopuceMeter({ hubUrl, serialNumber: 'YWATTMK1-12345', readElectrical: true });
    expect(await meter.open(signal())).toMatchObject({ model: 'Yocto-Watt', serialNumber: 'YWATTMK1-12345' });
    expect(await meter.read(signal())).toMatchObject({ powerWatts: 123.25, energyWh: 10, voltageVolts: 230, currentAmps: 0.5 });
  });

  it('serves the meter energy delta through Redfish and goes offline when the hub loses the device', async () => {
    const svc = createRedfishService({
      meters: [{ id: 'yw', meter: new YoctopuceMeter({ hubUrl, serialNumber: 'YWATTMK1-12345' }) }],
      backgroundPolling: false,
      pollIntervalMs: 1,
    });
    const url = await svc.listen();
    try {
      const get = async (p: string): Promise<Record<string, unknown>> =>
        (await (await fetch(`${url}${p}`, { signal: signal() })).json()) as Record<string, unknown>;
      await get('/redfish/v1/Chassis/yw');
      state.wh = 12.5;
      await new Promise((r) => setTimeout(r, 5));
      const env = await get('/redfish/v1/Chassis/yw/EnvironmentMetrics');
      expect(env['EnergykWh']).toMatchObject({ Reading: 0.0025 });
      expect(env['PowerWatts']).toMatchObject({ Reading: 123.25 });
      state.up = false;
      await new Promise((r) => setTimeout(r, 5));
      const ch = await get('/redfish/v1/Chassis/yw');
      expect(ch['Status']).toEqual({ State: 'UnavailableOffline', Health: 'Critical' });
    } finally {
      state.up = true;
      await svc.close();
    }
  });
});

/**
 * A VirtualHub protected by HTTP Digest (RFC 2617, MD5, qop=auth), as the Yoctopuce hubs are: the answer is
 * checked here with its own MD5 computation. The nonce changes every 3 requests (stale=true).
 */
function digestHub(serial: string, user: string, password: string, log: string[]): Server {
  const md5 = (x: string): string => createHash('md5').update(x).digest('hex');
  const realm = 'YoctoDevices';
  let nonce = 'n0';
  let served = 0;
  return createServer((req, res) => {
    log.push(`${req.url ?? ''} ${req.headers.authorization ?? '-'}`);
    const auth = req.headers.authorization ?? '';
    const p: Record<string, string> = {};
    for (const m of auth.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) p[m[1] as string] = m[2] ?? m[3] ?? '';
    const ha1 = md5(`${user}:${realm}:${password}`);
    const ha2 = md5(`GET:${req.url ?? ''}`);
    const expected = md5(`${ha1}:${nonce}:${p['nc'] ?? ''}:${p['cnonce'] ?? ''}:auth:${ha2}`);
    const ok = auth.startsWith('Digest ') && p['username'] === user && p['uri'] === req.url && p['nonce'] === nonce && p['response'] === expected;
    if (!ok) {
      const stale = auth.startsWith('Digest ') && p['nonce'] !== nonce ? ', stale=true' : '';
      res.writeHead(401, { 'www-authenticate': `Digest realm="${realm}", qop="auth", nonce="${nonce}", opaque="op"${stale}` });
      return res.end();
    }
    if (++served % 3 === 0) nonce = `n${served}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === `/bySerial/${serial}/api/module.json`) return res.end(JSON.stringify({ productName: 'Yocto-Watt', serialNumber: serial }));
    return res.end(JSON.stringify({ unit: 'W', currentValue: 200 * 65536, meter: 65536 }));
  });
}

describe('YoctopuceMeter through a hub protected by Digest authentication', () => {
  const log: string[] = [];
  const server = digestHub('YWATTMK1-1', 'admin', 'HubS3cret', log);
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  it('reads the meter when the credentials are written in hub_url, without putting them in any URL', async () => {
    const settings = parseSettings({
      POWERMETERS: [{ driver: 'yoctopuce', id: 'yw', serial: 'YWATTMK1-1', hub_url: `http://admin:HubS3cret@127.0.0.1:${port}` }],
    });
    const [served] = createMeters(settings, { logger: noopLogger });
    const meter = served?.meter as YoctopuceMeter;
    expect(meter.target).toBe(`http://127.0.0.1:${port}#YWATTMK1-1`);
    expect(await meter.open(signal())).toMatchObject({ model: 'Yocto-Watt' });
    for (let i = 0; i < 5; i++) expect(await meter.read(signal())).toMatchObject({ powerWatts: 200, energyWh: 1 });
    // One challenge at first, then one more each time the nonce goes stale; every other request is answered up front.
    expect(log.filter((l) => l.endsWith(' -')).length).toBe(1);
    expect(log.some((l) => l.includes('HubS3cret'))).toBe(false);
  });

  it('reads the meter with the user and pass keys, and reports refused credentials without the password', async () => {
    const good = new YoctopuceMeter({ hubUrl: `http://127.0.0.1:${port}`, serialNumber: 'YWATTMK1-1', user: 'admin', password: 'HubS3cret' });
    await good.open(signal());
    expect((await good.read(signal())).powerWatts).toBe(200);
    const bad = new YoctopuceMeter({ hubUrl: `http://admin:Wr0ngPass@127.0.0.1:${port}`, serialNumber: 'YWATTMK1-1' });
    const err = (await bad.open(signal()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/refused the credentials/);
    expect(`${err.message} ${(err as { target?: string }).target ?? ''}`).not.toContain('Wr0ngPass');
    const none = new YoctopuceMeter({ hubUrl: `http://127.0.0.1:${port}`, serialNumber: 'YWATTMK1-1' });
    await expect(none.open(signal())).rejects.toThrow(/requires credentials/);
  });
});

describe('YokotoolMeter', () => {
  let dir = '';
  beforeAll(() => {
    dir = makeTempDir('yokotool');
    // A stand-in yokotool: checks it got an argument array (no shell) and prints a header then the value.
    writeFileSync(
      join(dir, 'yokotool'),
      [
        '#!/usr/bin/env node',
        "const a = process.argv.slice(2);",
        "if (a[0] === '/dev/broken') { process.stderr.write('cannot open device\\n'); process.exit(1); }",
        "if (a[0] === '/dev/slow') { const until = Date.now() + 400; while (Date.now() < until); }",
        // WT310 overrange / no data marker, passed through by yokotool.
        "if (a[0] === '/dev/overrange') { process.stdout.write('P\\n9.91E+37\\n'); process.exit(0); }",
        "if (a.join(' ') !== a[0] + ' --pmtype=wt310 read P --count=1') { process.stderr.write('bad args ' + JSON.stringify(a)); process.exit(2); }",
        "process.stdout.write('P\\n187.5\\n');",
      ].join('\n'),
    );
    chmodSync(join(dir, 'yokotool'), 0o755);
  });
  afterAll(() => removeDir(dir));

  it('takes line 2 of the output when yokotool succeeds', async () => {
    const meter = new YokotoolMeter({ yokotoolPath: dir, dev: '/dev/usbtmc1; rm -rf /', pmtype: 'wt310' });
    await meter.open(signal());
    expect((await meter.read(signal())).powerWatts).toBe(187.5);
  });

  it('throws ER_METER_TOOL with the tool message when yokotool fails', async () => {
    const meter = new YokotoolMeter({ yokotoolPath: dir, dev: '/dev/broken', pmtype: 'wt310' });
    await expect(meter.read(signal())).rejects.toMatchObject({ code: 'ER_METER_TOOL', message: expect.stringMatching(/cannot open device/) });
  });

  it('throws ER_METER_NO_DATA when yokotool prints the overrange marker 9.91E+37', async () => {
    const meter = new YokotoolMeter({ yokotoolPath: dir, dev: '/dev/overrange', pmtype: 'wt310' });
    await expect(meter.read(signal())).rejects.toMatchObject({ code: 'ER_METER_NO_DATA', message: expect.stringMatching(/9\.91E\+37/) });
  });

  it('serves a yokotool slower than the service floor deadline when its timeout_ms allows it', async () => {
    const settings = parseSettings({ YOKOTOOL_PATH: dir, POWERMETERS: [{ dev: '/dev/slow', pmtype: 'wt310', timeout_ms: 5000 }] });
    // As the container builds it, with the channel floor cut from 5 s to 100 ms so the test stays short.
    const svc = createRedfishService({ meters: createMeters(settings, { logger: noopLogger }), readTimeoutMs: 100, backgroundPolling: false });
    try {
      const snap = await svc.channels.get('1')?.sample();
      expect(snap?.status).toMatchObject({ state: 'Enabled', health: 'OK' });
      expect(snap?.reading?.powerWatts).toBe(187.5);
    } finally {
      await svc.close();
    }
  });

  it('throws ER_METER_TOOL when yokotool is not installed', async () => {
    const meter = new YokotoolMeter({ yokotoolPath: join(dir, 'missing'), dev: '/dev/usbtmc1', pmtype: 'wt310' });
    await expect(meter.read(signal())).rejects.toMatchObject({ code: 'ER_METER_TOOL', message: expect.stringMatching(/not found/) });
  });
});
