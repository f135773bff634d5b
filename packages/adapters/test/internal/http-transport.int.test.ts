import { brotliCompressSync, deflateRawSync, gzipSync } from 'node:zlib';
import { AdapterError } from '@energyrecorder/core';
import { HttpClient } from '../../src/internal/http.js';
import { startFakeServer, type FakeServer } from '../fakes/http-server.js';

describe('HttpClient transport', () => {
  let device: FakeServer;
  const agents: (string | undefined)[] = [];
  const body = JSON.stringify({ PowerConsumedWatts: 212.5 });

  beforeAll(async () => {
    device = await startFakeServer((req, _body, res) => {
      agents.push(req.headers['user-agent']);
      const json = { 'content-type': 'application/json' };
      switch (req.url) {
        case '/gzip':
          return void res.writeHead(200, { ...json, 'content-encoding': 'gzip' }).end(gzipSync(body));
        case '/raw-deflate':
          return void res.writeHead(200, { ...json, 'content-encoding': 'deflate' }).end(deflateRawSync(body));
        case '/br':
          return void res.writeHead(200, { ...json, 'content-encoding': 'br' }).end(brotliCompressSync(body));
        case '/bad-gzip':
          return void res.writeHead(200, { ...json, 'content-encoding': 'gzip' }).end('not gzip at all');
        case '/bom':
          return void res.writeHead(200, json).end(`\uFEFF${body}`);
        case '/cut':
          // Promises 1,000 bytes, sends a few, then drops the connection.
          res.writeHead(200, { ...json, 'content-length': '1000' });
          res.write('{"Power');
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        default:
          return void res.writeHead(200, json).end(body);
      }
    });
  });

  afterAll(async () => {
    await device.close();
  });

  const client = (): HttpClient => new HttpClient({ adapterType: 'test', target: device.hostPort, origin: device.origin, timeoutMs: 2000 });

  it.each(['/gzip', '/raw-deflate', '/br', '/bom'])('decodes the answer when the device sends %s', async (path) => {
    const c = client();
    try {
      await expect(c.json({ path })).resolves.toEqual({ PowerConsumedWatts: 212.5 });
    } finally {
      c.close();
    }
  });

  it('fails with ER_ADAPTER_PAYLOAD when the compressed body is corrupt', async () => {
    const c = client();
    try {
      await expect(c.json({ path: '/bad-gzip' })).rejects.toMatchObject({ code: 'ER_ADAPTER_PAYLOAD' });
    } finally {
      c.close();
    }
  });

  it('fails with ER_ADAPTER_UNREACHABLE when the connection drops in the middle of the answer', async () => {
    const c = client();
    try {
      const err = await c.json({ path: '/cut' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterError);
      expect((err as AdapterError).code).toBe('ER_ADAPTER_UNREACHABLE');
    } finally {
      c.close();
    }
  });

  it('sends a User-Agent when the caller gives none', async () => {
    const c = client();
    try {
      await c.json({ path: '/plain' });
      await c.json({ path: '/plain', headers: { 'User-Agent': 'Mozilla' } });
      expect(agents.slice(-2)).toEqual(['energyrecorder-adapters', 'Mozilla']);
    } finally {
      c.close();
    }
  });
});
