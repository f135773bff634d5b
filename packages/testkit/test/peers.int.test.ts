import { connect } from 'node:net';
import { peerAvailable, startInfluxd, startMosquitto } from '../src/index.js';

const haveInflux = peerAvailable('influxd', ['influxd']);
const haveMosquitto = peerAvailable('mosquitto', ['mosquitto', 'mosquitto_passwd']);

async function query(url: string, q: string, auth?: string): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers['authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
  const res = await fetch(`${url}/query?${new URLSearchParams({ q, db: 'T' }).toString()}`, {
    method: 'POST',
    headers,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.text() };
}

(haveInflux ? describe : describe.skip)('startInfluxd', () => {
  it('keeps port and data when restarted', async () => {
    const peer = await startInfluxd();
    try {
      await query(peer.url, 'CREATE DATABASE T');
      const w = await fetch(`${peer.url}/write?db=T`, { method: 'POST', body: 'm v=1 1700000000000000000' });
      expect(w.status).toBe(204);
      await peer.restart();
      const r = await query(peer.url, 'SELECT v FROM m');
      expect(r.body).toContain('2023-11-14T22:13:20Z');
      await peer.kill();
      await peer.restart();
      expect((await query(peer.url, 'SELECT v FROM m')).body).toContain('"v"');
    } finally {
      await peer.stop();
    }
  });

  it('refuses anonymous queries when auth is given', async () => {
    const peer = await startInfluxd({ auth: { user: 'admin', pass: 's3cret' } });
    try {
      expect((await query(peer.url, 'SHOW DATABASES')).status).toBe(401);
      expect((await query(peer.url, 'SHOW DATABASES', 'admin:s3cret')).status).toBe(200);
    } finally {
      await peer.stop();
    }
  });
});

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

(haveMosquitto ? describe : describe.skip)('startMosquitto', () => {
  it('listens again on the same port when restarted', async () => {
    const peer = await startMosquitto({ users: [{ user: 'u', pass: 'p' }] });
    try {
      expect(peer.url).toBe(`mqtt://127.0.0.1:${peer.port}`);
      await peer.pause();
      expect(await tcpOpen(peer.port)).toBe(false);
      await peer.restart();
      expect(await tcpOpen(peer.port)).toBe(true);
    } finally {
      await peer.stop();
    }
  });
});
