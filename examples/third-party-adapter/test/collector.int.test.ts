import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinAdapters } from '@energyrecorder/adapters';
import { createApiServer, type ApiServer } from '@energyrecorder/api-server';
import { Collector, resolveCollectorConfig } from '@energyrecorder/collector';
import { createAdapterRegistry } from '@energyrecorder/core';
import { acmePduAdapter } from '../src/acme-pdu.js';

// Peers: a fake ACME PDU (node:http on 127.0.0.1, written here), the real api-server (in-memory embedded store)
// and the real collector, all on free ports.
describe('acme-pdu with the collector', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-acme-'));
  let device: Server;
  let deviceUrl: string;
  let api: ApiServer;
  let apiBase: string;
  let collector: Collector | undefined;
  let requests = 0;

  beforeAll(async () => {
    device = createServer((req, res) => {
      requests++;
      if (req.url !== '/api/v1/power' || req.headers['authorization'] !== 'Bearer s3cret-token') {
        res.writeHead(req.url === '/api/v1/power' ? 401 : 404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ total_watts: 432, outlets: [{ id: 1, watts: 400 }, { id: 2, watts: 32 }] }));
    });
    await new Promise<void>((resolve) => device.listen(0, '127.0.0.1', resolve));
    const addr = device.address();
    deviceUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
    api = createApiServer({ port: 0, host: '127.0.0.1' });
    apiBase = await api.listen();
  });

  afterAll(async () => {
    await collector?.stop(5000);
    await api.close();
    await new Promise<void>((resolve) => device.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('polls the third-party device and the API stores its readings under the running scenario', async () => {
    const registry = createAdapterRegistry([...builtinAdapters, acmePduAdapter]);
    const config = resolveCollectorConfig(
      {
        PODS: [{ environment: 'acme-pod', polling_interval: 0.5, servers: [{ id: 'pdu-9', type: 'acme-pdu', host: deviceUrl, token: 's3cret-token', outlets: true }] }],
        RECORDER_API_SERVER: { base_url: apiBase },
        COLLECTOR: { spool_dir: join(dir, 'spool'), flush_interval_ms: 200 },
      },
      registry,
    );
    const start = await fetch(`${apiBase}/resources/recorders/environment/acme-pod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scenario: 'burn-in', step: 'stress' }),
    });
    expect(start.status).toBe(200);

    collector = await Collector.create({ config });
    await collector.start();
    const deadline = Date.now() + 15_000;
    let samples = 0;
    let avg: number | null = null;
    while (Date.now() < deadline && samples < 3) {
      await new Promise((r) => setTimeout(r, 500));
      const res = await fetch(`${apiBase}/resources/recorders/environment/acme-pod/report?scenario=burn-in`);
      const report = (await res.json()) as { equipments: Array<{ equipment: string; sampleCount: number; avgWatts: number | null }> };
      const eq = report.equipments.find((e) => e.equipment === 'pdu-9');
      samples = eq?.sampleCount ?? 0;
      avg = eq?.avgWatts ?? null;
    }
    expect(samples).toBeGreaterThanOrEqual(3);
    expect(avg).toBeCloseTo(432, 6);
    const outlet = await fetch(`${apiBase}/resources/recorders/environment/acme-pod/report?scenario=burn-in&sensor=outlet-1%2Fpower`);
    const outletReport = (await outlet.json()) as { equipments: Array<{ avgWatts: number | null }> };
    expect(outletReport.equipments[0]?.avgWatts).toBeCloseTo(400, 6);
    expect(requests).toBeGreaterThanOrEqual(3);
  });
});
