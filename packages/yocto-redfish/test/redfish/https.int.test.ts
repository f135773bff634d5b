import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { makeTempDir, peerAvailable, removeDir } from '@energyrecorder/testkit';
import { createRedfishService } from '../../src/redfish-service.js';
import { SimulatedMeter } from '../../src/simulated-meter.js';

const haveOpenssl = peerAvailable('openssl (test certificate)', ['openssl']);
const maybe = haveOpenssl ? describe : describe.skip;

function fetchJson(url: string, ca: Buffer | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ...(ca === undefined ? {} : { ca }), timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

maybe('createRedfishService over HTTPS', () => {
  let dir = '';
  let cert: Buffer;
  beforeAll(() => {
    dir = makeTempDir('yrf-tls');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
  });
  afterAll(() => removeDir(dir));

  it('serves the chassis over TLS and a client verifying certificates rejects an unknown CA', async () => {
    const svc = createRedfishService({
      meters: [{ meter: new SimulatedMeter({ profile: 'constant:42' }) }],
      tls: { cert, key: readFileSync(join(dir, 'key.pem')) },
      backgroundPolling: false,
    });
    const url = await svc.listen();
    try {
      expect(url.startsWith('https://127.0.0.1:')).toBe(true);
      const ok = await fetchJson(`${url}/redfish/v1/Chassis/1/Power`, cert);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ PowerControl: [{ PowerConsumedWatts: 42 }] });
      await expect(fetchJson(`${url}/redfish/v1/`, undefined)).rejects.toThrow(/self[- ]signed|certificate/i);
    } finally {
      await svc.close();
    }
  });
});
