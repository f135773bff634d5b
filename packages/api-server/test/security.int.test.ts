import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, peerAvailable, removeDir } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../src/index.js';
import { raw, sendJson } from './helpers.js';

const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const writer = basic('collector', 'w-secret');
const reader = basic('grafana', 'r-secret');
const users = [
  { name: 'collector', password: 'w-secret', role: 'writer' },
  { name: 'grafana', password: 'r-secret', role: 'reader' },
];
const batch = { environment: 'sec', measurements: [{ sensor: 'power', unit: 'W', value: 42 }] };

describe('API authentication', () => {
  let api: ApiServer;
  let url: string;
  let open: ApiServer;
  let openUrl: string;

  beforeAll(async () => {
    api = createApiServer({ settings: { AUTH: { users }, STORE: { path: ':memory:' }, BIND: '127.0.0.1:0' }, dashboard: false });
    url = await api.listen();
    open = createApiServer({
      settings: { AUTH: { users, protect_reads: false }, STORE: { path: ':memory:' }, BIND: '127.0.0.1:0' },
      dashboard: false,
    });
    openUrl = await open.listen();
  });
  afterAll(async () => {
    await api?.close();
    await open?.close();
  });

  it('answers 401 with a Basic challenge when a read or a write comes without credentials', async () => {
    const read = await raw(url, 'GET', '/resources/recorders/environment/sec');
    expect(read.status).toBe(401);
    expect(read.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const write = await sendJson(url, 'POST', '/resources/equipments/eq/measurements', batch);
    expect(write.status).toBe(401);
    expect(write.headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('answers 401 when the password is wrong or the user unknown', async () => {
    expect((await sendJson(url, 'POST', '/resources/equipments/eq/measurements', batch, basic('collector', 'nope'))).status).toBe(401);
    expect((await raw(url, 'GET', '/resources/recorders/environment/sec', { headers: basic('mallory', 'r-secret') })).status).toBe(401);
  });

  it('lets a reader read but answers 403 when it writes', async () => {
    const read = await raw(url, 'GET', '/resources/recorders/environment/sec', { headers: reader });
    expect(read.status).toBe(404);
    const write = await sendJson(url, 'POST', '/resources/equipments/eq/measurements', batch, reader);
    expect(write.status).toBe(403);
    const start = await sendJson(url, 'POST', '/resources/recorders/environment/sec', { scenario: 's', step: 'a' }, reader);
    expect(start.status).toBe(403);
  });

  it('lets a writer start a scenario, post readings and read them back', async () => {
    expect((await sendJson(url, 'POST', '/resources/recorders/environment/sec', { scenario: 's', step: 'a' }, writer)).status).toBe(200);
    expect((await sendJson(url, 'POST', '/resources/equipments/eq/measurements', batch, writer)).status).toBe(200);
    const read = await raw(url, 'GET', '/resources/recorders/environment/sec', { headers: writer });
    expect(read.json).toEqual({ environment: 'sec', scenario: 's', step: 'a' });
  });

  it('keeps the ping open so SDK probes work when auth is on', async () => {
    expect((await raw(url, 'GET', '/resources/monitoring/ping')).status).toBe(200);
  });

  it('serves reads without credentials but still guards writes when protect_reads is false', async () => {
    expect((await raw(openUrl, 'GET', '/resources/recorders/environment/sec')).status).toBe(404);
    expect((await sendJson(openUrl, 'POST', '/resources/equipments/eq/measurements', batch)).status).toBe(401);
    expect((await sendJson(openUrl, 'POST', '/resources/equipments/eq/measurements', batch, writer)).status).toBe(200);
  });

  it('reports requests, ingested readings and store latency on /metrics when a reader scrapes it', async () => {
    const denied = await raw(url, 'GET', '/metrics');
    expect(denied.status).toBe(401);
    const before = await raw(url, 'GET', '/metrics', { headers: reader });
    const count = (text: string): number => Number(/^energyrecorder_readings_ingested_total (\d+)$/m.exec(text)?.[1] ?? NaN);
    const n0 = count(before.text);
    const three = { environment: 'sec', measurements: [1, 2, 3].map((v) => ({ sensor: 'power', unit: 'W', value: v })) };
    expect((await sendJson(url, 'POST', '/resources/equipments/eq/measurements', three, writer)).status).toBe(200);
    const after = await raw(url, 'GET', '/metrics', { headers: reader });
    expect(after.status).toBe(200);
    expect(after.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(count(after.text) - n0).toBe(3);
    expect(after.text).toContain('# TYPE energyrecorder_http_requests_total counter');
    expect(after.text).toMatch(/^energyrecorder_http_requests_total\{method="POST",route="\/resources\/equipments\/:equipement\/measurements",status="403"\} 1$/m);
    expect(after.text).toMatch(/^energyrecorder_store_latency_seconds_bucket\{op="writeMeasurements",le="\+Inf"\} \d+$/m);
    expect(after.text).toMatch(/^energyrecorder_mqtt_queue_depth 0$/m);
    // Credentials never show up, not even as label values.
    expect(after.text).not.toContain('secret');
  });
});

describe('AUTH.protect_reads exemptions', () => {
  let api: ApiServer;
  let url: string;
  beforeAll(async () => {
    // Dashboard on (the default): its page and live endpoints are reads too.
    api = createApiServer({ settings: { AUTH: { users }, STORE: { path: ':memory:' }, BIND: '127.0.0.1:0' } });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers a GET without credentials only on the paths the README exempts, when protect_reads is true', async () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `AUTH.protect_reads` |')) ?? '';
    const exempt = [...row.matchAll(/`(\/[^`]*)`/g)].map((m) => m[1] as string);
    expect(exempt).toEqual(['/resources/monitoring/ping', '/resources/swagger.json', '/resources/doc/']);
    // Every GET route of the API and the dashboard, and the Swagger UI's files.
    const paths = [
      '/resources/monitoring/ping',
      '/resources/swagger.json',
      '/resources/doc/',
      '/resources/doc/json',
      '/resources/doc/static/swagger-ui.css',
      '/resources/recorders/environment/sec',
      '/resources/recorders/environment/sec?time=1700000000000000000',
      '/resources/recorders/environment/sec/sessions',
      '/resources/recorders/environment/sec/report',
      '/resources/live/environments',
      '/resources/live?environment=sec',
      '/metrics',
      '/',
      '/dashboard',
      '/dashboard/app.js',
    ];
    const open: string[] = [];
    for (const path of paths) {
      const r = await raw(url, 'GET', path);
      if (r.status !== 401) open.push(`${path} ${r.status}`);
      else expect(r.headers['www-authenticate']).toMatch(/^Basic realm=/);
    }
    // The Swagger UI's own files live under /resources/doc/.
    expect(open).toEqual(paths.filter((p) => exempt.some((e) => p === e || (e.endsWith('/') && p.startsWith(e)))).map((p) => `${p} 200`));
    expect((await raw(url, 'OPTIONS', '/resources/recorders/environment/sec')).status).toBe(200);
  });
});

const haveOpenssl = peerAvailable('openssl', ['openssl']);

(haveOpenssl ? describe : describe.skip)('API over HTTPS', () => {
  let dir: string;
  let api: ApiServer;
  let url: string;
  let cert: Buffer;

  beforeAll(async () => {
    dir = makeTempDir('api-tls');
    const key = join(dir, 'key.pem');
    const crt = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    cert = readFileSync(crt);
    api = createApiServer({ settings: { TLS: { cert_file: crt, key_file: key }, BIND: '127.0.0.1:0' }, storePath: ':memory:', dashboard: false });
    url = await api.listen();
  });
  afterAll(async () => {
    await api?.close();
    if (dir !== undefined) removeDir(dir);
  });

  const get = (path: string, ca?: Buffer) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(path, url);
      const req = httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', ...(ca === undefined ? {} : { ca }), timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves the API on https when TLS files are configured', async () => {
    expect(url.startsWith('https://')).toBe(true);
    const r = await get('/resources/monitoring/ping', cert);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'OK' });
  });

  it('is refused by a verifying client when the certificate is not trusted', async () => {
    await expect(get('/resources/monitoring/ping')).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('does not answer plain HTTP when TLS is on', async () => {
    await expect(raw(url.replace('https://', 'http://'), 'GET', '/resources/monitoring/ping')).rejects.toThrow();
  });
});
