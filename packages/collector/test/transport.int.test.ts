import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recorderApiServerSchema } from '@energyrecorder/core';
import { makeTempDir, peerAvailable, removeDir } from '@energyrecorder/testkit';
import { createApiTransport } from '../src/internal/transport.js';
import { ConnectProxy } from './helpers/connect-proxy.js';
import { FakeApi } from './helpers/fake-api.js';

const BODY = JSON.stringify({ environment: 'E', time: 1, measurements: [{ sensor: 'power', unit: 'W', value: 1, time: 1 }] });
const signal = (): AbortSignal => AbortSignal.timeout(10_000);
const haveOpenssl = peerAvailable('openssl (test certificates)', ['openssl']);

(haveOpenssl ? describe : describe.skip)('createApiTransport over TLS', () => {
  let dir: string;
  let api: FakeApi;
  let caFile: string;

  beforeAll(async () => {
    dir = makeTempDir('collector-tls');
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    caFile = cert;
    api = new FakeApi({ key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
    await api.listen();
  });
  afterAll(async () => {
    await api.close();
    removeDir(dir);
  });

  it('refuses a self-signed API certificate when verify_cert is on by default', async () => {
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url }));
    const outcome = await t.post('srv', BODY, signal());
    await t.close();
    expect(outcome).toMatchObject({ kind: 'retry', message: expect.stringMatching(/self[- ]signed|certificate/i) });
    expect(api.posts).toHaveLength(0);
  });

  it('accepts the API certificate when its CA is given in ca_file', async () => {
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, ca_file: caFile }));
    expect(await t.post('srv', BODY, signal())).toEqual({ kind: 'ok' });
    await t.close();
  });

  it('skips verification when verify_cert is false', async () => {
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, verify_cert: false }));
    expect(await t.post('srv', BODY, signal())).toEqual({ kind: 'ok' });
    await t.close();
  });

  it('verifies with the CA file verify_cert names, as requests\' verify=<path>, and refuses with another one', async () => {
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, verify_cert: caFile }));
    expect(await t.post('srv', BODY, signal())).toEqual({ kind: 'ok' });
    await t.close();
    // A bundle without the API's CA does not let it through: the path is a trust store, not "verification off".
    const other = join(dir, 'other.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'other-key.pem'), '-out', other, '-days', '1',
      '-subj', '/CN=other',
    ]);
    const refused = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, verify_cert: other }));
    expect(await refused.post('srv', BODY, signal())).toMatchObject({ kind: 'retry', message: expect.stringMatching(/certificate/i) });
    await refused.close();
  });

  it('still tunnels an https base_url through the proxy with CONNECT', async () => {
    const proxy = new ConnectProxy();
    await proxy.listen();
    try {
      const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, ca_file: caFile, proxy: proxy.url }));
      expect(await t.post('srv', BODY, signal())).toEqual({ kind: 'ok' });
      await t.close();
      expect(proxy.requestLines).toEqual([`CONNECT 127.0.0.1:${api.port} HTTP/1.1`]);
    } finally {
      await proxy.close();
    }
  });
});

describe('createApiTransport through a proxy', () => {
  it('sends the POST through the configured proxy when proxy is set', async () => {
    const api = new FakeApi();
    await api.listen();
    const proxy = new ConnectProxy();
    await proxy.listen();
    try {
      const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, proxy: proxy.url, user: 'u', pass: 'p' }));
      expect(await t.post('srv 1', BODY, signal())).toEqual({ kind: 'ok' });
      await t.close();
      expect(proxy.tunnels + proxy.forwarded).toBe(1);
      expect(api.posts[0]?.path).toBe('/resources/equipments/srv%201/measurements');
      expect(api.posts[0]?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    } finally {
      await proxy.close();
      await api.close();
    }
  });

  it('sends an http base_url to the proxy as an absolute-form request, not a CONNECT squid refuses off port 443', async () => {
    const api = new FakeApi();
    await api.listen();
    // squid's default configuration: CONNECT only to 443.
    const proxy = new ConnectProxy({ connectPorts: [443] });
    await proxy.listen();
    try {
      const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, proxy: proxy.url }));
      expect(await t.post('srv 1', BODY, signal())).toEqual({ kind: 'ok' });
      await t.close();
      expect(proxy.requestLines).toEqual([`POST http://127.0.0.1:${api.port}/resources/equipments/srv%201/measurements HTTP/1.1`]);
      expect(api.posts).toHaveLength(1);
    } finally {
      await proxy.close();
      await api.close();
    }
  });

  it('keeps RECORDER_API_SERVER.timeout for an http base_url sent through the proxy', async () => {
    const api = new FakeApi();
    await api.listen();
    api.hang = true;
    const proxy = new ConnectProxy();
    await proxy.listen();
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url, proxy: proxy.url, timeout: 0.4 }));
    try {
      const started = Date.now();
      const outcome = await t.post('srv', BODY, signal());
      expect(outcome).toMatchObject({ kind: 'retry', message: expect.stringMatching(/timeout/i) as unknown });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await t.close().catch(() => undefined);
      await proxy.close();
      await api.close();
    }
  });
});

describe('createApiTransport read timeout', () => {
  it('gives up a POST the API never answers after RECORDER_API_SERVER.timeout and calls it retryable', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: `http://127.0.0.1:${port}`, timeout: 0.4 }));
    try {
      const started = Date.now();
      const outcome = await t.post('srv', BODY, signal());
      const elapsed = Date.now() - started;
      expect(outcome).toMatchObject({ kind: 'retry', message: expect.stringMatching(/timeout/i) as unknown });
      // The 10 s signal did not end it: the configured timeout did.
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(5000);
    } finally {
      await t.close().catch(() => undefined);
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('createApiTransport answers that must not drop a batch', () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = new FakeApi();
    await api.listen();
  });
  afterEach(async () => {
    await api.close();
  });

  it('calls a 408 retryable when the API gave up waiting for the request', async () => {
    api.answer = () => ({ status: 408, body: { message: 'request timeout' } });
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url }));
    const outcome = await t.post('srv', BODY, signal());
    await t.close();
    expect(outcome).toMatchObject({ kind: 'retry', status: 408, message: 'request timeout' });
  });

  it('keeps a batch the API redirects with 3xx and names the Location to put in base_url', async () => {
    api.answer = () => ({ status: 308, headers: { location: 'https://api.example/recorder/resources' } });
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url }));
    const outcome = await t.post('srv', BODY, signal());
    await t.close();
    expect(outcome).toMatchObject({
      kind: 'retry',
      status: 308,
      location: 'https://api.example/recorder/resources',
      message: expect.stringContaining('base_url') as unknown,
    });
    expect(api.posts).toHaveLength(0);
  });
});

describe('createApiTransport answers caused by the settings', () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = new FakeApi();
    await api.listen();
  });
  afterEach(async () => {
    await api.close();
  });

  it.each([
    [401, /user and pass/],
    [403, /writer role/],
    [404, /base_url.*without \/resources/],
    [405, /base_url.*without \/resources/],
    [407, /RECORDER_API_SERVER\.proxy/],
    [411, /base_url and proxy/],
    [414, /body or header limit/],
    [415, /base_url and proxy/],
    [426, /base_url and proxy/],
    [431, /body or header limit/],
  ])('keeps the batch and says what to fix when the API answers %i', async (status, fix) => {
    api.answer = () => ({ status, body: { message: 'no' } });
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url }));
    const outcome = await t.post('srv', BODY, signal());
    await t.close();
    expect(outcome).toMatchObject({ kind: 'retry', status, message: 'no', fix: expect.stringMatching(fix) as unknown });
  });

  it('drops the batch, as not recorded, on the API\'s own 404 while no scenario runs (ALWAYS_RECORD false)', async () => {
    api.answer = () => ({ status: 404, body: { message: 'Can\'t find any recording session for recorder "pod"' } });
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url }));
    const outcome = await t.post('srv', BODY, signal());
    await t.close();
    expect(outcome).toMatchObject({ kind: 'rejected', status: 404, notRecording: true });
  });

  it.each([400, 409, 413, 422])('drops the batch for its content or size when the API answers %i', async (status) => {
    api.answer = () => ({ status, body: { message: 'bad batch' } });
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: api.url }));
    const outcome = await t.post('srv', BODY, signal());
    await t.close();
    expect(outcome).toEqual({ kind: 'rejected', status, message: 'bad batch' });
  });
});

describe('createApiTransport credentials in base_url', () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = new FakeApi();
    await api.listen();
  });
  afterEach(async () => {
    await api.close();
  });

  it('sends them as Basic auth, percent-decoded, and leaves them out of the URL when user and pass are absent', async () => {
    const base = api.url.replace('http://', 'http://col%40lab:p%3Ass%2Fw@');
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: `${base}/` }));
    expect(await t.post('srv', BODY, signal())).toEqual({ kind: 'ok' });
    await t.close();
    expect(api.posts[0]?.authorization).toBe(`Basic ${Buffer.from('col@lab:p:ss/w').toString('base64')}`);
    expect(api.posts[0]?.path).toBe('/resources/equipments/srv/measurements');
  });

  it('prefers user and pass when both are set', async () => {
    const base = api.url.replace('http://', 'http://url:urlpass@');
    const t = createApiTransport(recorderApiServerSchema.parse({ base_url: base, user: 'u', pass: 'p' }));
    expect(await t.post('srv', BODY, signal())).toEqual({ kind: 'ok' });
    await t.close();
    expect(api.posts[0]?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });
});
