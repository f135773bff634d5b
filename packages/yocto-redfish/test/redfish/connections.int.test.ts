import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { makeTempDir, peerAvailable, removeDir } from '@energyrecorder/testkit';
import { createRedfishService, DEFAULT_REDFISH_SERVICE_OPTIONS } from '../../src/redfish-service.js';
import { SimulatedMeter } from '../../src/simulated-meter.js';

// How long the service keeps connections it cannot serve: a peer that sends nothing, or that never reads or
// never closes its side after a refused request, must not hold a connection forever.

const haveOpenssl = peerAvailable('openssl (test certificate)', ['openssl']);
const maybe = haveOpenssl ? describe : describe.skip;

const FAKE_METHOD = 'FAKEMETHODFORTEST /redfish/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

/** Resolves with whether `socket` closed within `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Resolves with whether `promise` settled within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

/**
 * Open TCP sockets that keep this process alive. The test's own client sockets are unref'd, so in a test that
 * opens no other connection this counts the service's side of them.
 */
const liveTcpSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** {@link liveTcpSockets} once it has not changed for 200 ms (sockets of an earlier test take a while to close). */
async function settledTcpSockets(): Promise<number> {
  let last = liveTcpSockets();
  for (let stable = 0; stable < 4; ) {
    await new Promise((r) => setTimeout(r, 50));
    const now = liveTcpSockets();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Resolves with whether `holds` became true within `ms`. */
async function within(ms: number, holds: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!holds()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

maybe('createRedfishService connection lifetime', () => {
  let dir = '';
  let cert: Buffer;
  let key: Buffer;
  beforeAll(() => {
    dir = makeTempDir('yrf-conn');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });
  afterAll(() => removeDir(dir));

  const meters = (): Array<{ meter: SimulatedMeter }> => [{ meter: new SimulatedMeter({ profile: 'constant:42' }) }];

  it('closes HTTPS connections that never complete a TLS handshake once handshakeTimeoutMs has passed', async () => {
    const svc = createRedfishService({ meters: meters(), tls: { cert, key, handshakeTimeoutMs: 300 }, backgroundPolling: false });
    const port = Number(new URL(await svc.listen()).port);
    const clients: Socket[] = [];
    try {
      // Plain TCP that sends nothing (the audit's 50 idle connections), and a TLS record header that never goes on.
      for (let i = 0; i < 5; i++) clients.push(tcpConnect(port, '127.0.0.1'));
      const partial = tcpConnect(port, '127.0.0.1', () => partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
      clients.push(partial);
      for (const c of clients) c.on('error', () => undefined);
      const closed = await Promise.all(clients.map((c) => closedWithin(c, 1500)));
      expect(closed).toEqual(clients.map(() => true));
      // A socket left open would also hold close() (the server waits for its connections) forever.
      expect(await settlesWithin(svc.close(), 3000)).toBe(true);
    } finally {
      for (const c of clients) c.destroy();
      await settlesWithin(svc.close(), 3000);
    }
  });

  it('answers 501 over TLS to a request Node cannot parse, and closes the connection in time when the peer keeps its side open', async () => {
    const svc = createRedfishService({ meters: meters(), tls: { cert, key }, backgroundPolling: false });
    const port = Number(new URL(await svc.listen()).port);
    const before = await settledTcpSockets();
    // A TLS socket over a half-open TCP socket is half-open itself: it does not end its side when the service does.
    const client = tlsConnect({ socket: tcpConnect({ port, host: '127.0.0.1', allowHalfOpen: true }), host: '127.0.0.1', ca: cert });
    client.unref();
    client.on('error', () => undefined);
    try {
      let read = '';
      client.setEncoding('utf8');
      client.on('data', (d: string) => (read += d));
      const ended = new Promise<void>((resolve, reject) => {
        client.once('end', resolve);
        client.once('error', reject);
        client.setTimeout(5000, () => reject(new Error(`no answer; read so far: ${read}`)));
      });
      client.once('secureConnect', () => client.write(FAKE_METHOD));
      await ended;
      client.setTimeout(0);
      expect(read).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
      expect(liveTcpSockets()).toBeGreaterThan(before);
      // The client never ends its side: the service must close its own anyway.
      expect(await within(DEFAULT_REDFISH_SERVICE_OPTIONS.clientErrorLingerMs + 2000, () => liveTcpSockets() <= before)).toBe(true);
    } finally {
      client.destroy();
      await svc.close();
    }
  });

  it('closes a plain HTTP connection it answered 501 in time when the peer neither reads nor closes', async () => {
    const svc = createRedfishService({ meters: meters(), backgroundPolling: false });
    const port = Number(new URL(await svc.listen()).port);
    const before = await settledTcpSockets();
    const client = tcpConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.unref();
    client.on('error', () => undefined);
    client.pause();
    try {
      await new Promise<void>((resolve) => client.once('connect', resolve));
      client.write(FAKE_METHOD);
      // The service's side of the connection is counted while it is open.
      expect(await within(1000, () => liveTcpSockets() > before)).toBe(true);
      expect(await within(DEFAULT_REDFISH_SERVICE_OPTIONS.clientErrorLingerMs + 2000, () => liveTcpSockets() <= before)).toBe(true);
    } finally {
      client.destroy();
      await svc.close();
    }
  });
});
