import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdapterError } from '@energyrecorder/core';
import { DEFAULT_HTTP_AGENT } from '../../src/internal/http-agents.js';
import { HttpClient } from '../../src/internal/http.js';
import { makeSelfSignedCert, startFakeServer, type FakeServer, type TestCert } from '../fakes/http-server.js';

describe('HttpClient shared agents', () => {
  let dir: string;
  let cert: TestCert;
  let tlsDevice: FakeServer;
  let plainDevice: FakeServer;
  const tlsConnections = new Set<number>();
  const plainConnections = new Set<number>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'er-agents-'));
    cert = await makeSelfSignedCert(dir);
    tlsDevice = await startFakeServer(
      (req, _body, res) => {
        tlsConnections.add(req.socket.remotePort ?? 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      },
      { tls: cert },
    );
    plainDevice = await startFakeServer((req, _body, res) => {
      plainConnections.add(req.socket.remotePort ?? 0);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });

  afterAll(async () => {
    await tlsDevice.close();
    await plainDevice.close();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (origin: string, tls: { verifyCert?: boolean; caFile?: string } = {}): HttpClient =>
    new HttpClient({ adapterType: 'test', target: origin, origin, timeoutMs: 3000, ...tls });

  it('still refuses an untrusted certificate for a verifying device when a non-verifying one holds a connection to the same origin', async () => {
    const insecure = client(tlsDevice.origin, { verifyCert: false });
    const strict = client(tlsDevice.origin);
    const pinned = client(tlsDevice.origin, { caFile: cert.certFile });
    try {
      await expect(insecure.json({ path: '/a' })).resolves.toEqual({ ok: true });
      const refused = await strict.json({ path: '/a' }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(AdapterError);
      expect((refused as AdapterError).code).toBe('ER_ADAPTER_TLS');
      await expect(pinned.json({ path: '/a' })).resolves.toEqual({ ok: true });
      // The insecure client's connection is never handed to the pinned one: two TLS connections, not one.
      expect(tlsConnections.size).toBe(2);
    } finally {
      insecure.close();
      strict.close();
      pinned.close();
    }
  });

  it('reuses one keep-alive connection when two devices with the same settings share an origin', async () => {
    plainConnections.clear();
    const first = client(plainDevice.origin);
    const second = client(plainDevice.origin);
    try {
      // The pool takes a connection back just after the body ended: yield once so it is idle again.
      const idle = (): Promise<void> => new Promise((r) => setImmediate(r));
      await first.json({ path: '/dev/1' });
      await idle();
      await second.json({ path: '/dev/2' });
      await idle();
      await first.json({ path: '/dev/1' });
      expect(plainConnections.size).toBe(1);
    } finally {
      first.close();
      second.close();
    }
  });

  it('keeps one connection for a device whose requests follow each other without a pause', async () => {
    plainConnections.clear();
    const device = client(plainDevice.origin);
    try {
      // Discovery: each GET is sent as soon as the previous answer is parsed.
      for (const path of ['/redfish/v1/', '/redfish/v1/Chassis', '/redfish/v1/Chassis/1', '/redfish/v1/Chassis/1/Power']) {
        await device.json({ path });
      }
      expect(plainConnections.size).toBe(1);
    } finally {
      device.close();
    }
  });

  it('opens more connections for concurrent requests to one origin, at most maxSockets', async () => {
    plainConnections.clear();
    const devices = Array.from({ length: DEFAULT_HTTP_AGENT.maxSockets + 8 }, () => client(plainDevice.origin));
    try {
      await Promise.all(devices.map((d, i) => d.json({ path: `/dev/${i}` })));
      expect(plainConnections.size).toBeGreaterThan(1);
      expect(plainConnections.size).toBeLessThanOrEqual(DEFAULT_HTTP_AGENT.maxSockets);
    } finally {
      for (const d of devices) d.close();
    }
  });

  it('opens a new connection when the last client of an origin closed and a new one starts', async () => {
    plainConnections.clear();
    const first = client(plainDevice.origin);
    await first.json({ path: '/x' });
    first.close();
    const next = client(plainDevice.origin);
    try {
      await next.json({ path: '/x' });
      expect(plainConnections.size).toBe(2);
    } finally {
      next.close();
    }
  });
});
