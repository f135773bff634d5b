import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinAdapters } from '@energyrecorder/adapters';
import { createApiServer, type ApiEvent, type ApiServer } from '@energyrecorder/api-server';
import { Collector, loadCollectorConfigFile } from '@energyrecorder/collector';
import { createAdapterRegistry, noopLogger, type EnergyReport, type PowerAdapter } from '@energyrecorder/core';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { createRedfishService, type RedfishService } from '../../src/redfish-service.js';
import { SimulatedMeter } from '../../src/simulated-meter.js';

// Contract test across packages: the real `redfish` adapter and the real collector read this service, and the
// real api-server turns what they record into per-step joules. Everything runs in this process on 127.0.0.1.

const ENV = 'YOCTO-CONTRACT';
// Plateaus of 4 s: session steps are placed ≥ 0.8 s from any power transition, far more than the collector's
// 0.1 s poll plus the service's cache age, so the samples around each step boundary share one power level.
const STEPPED = 'steps:150@4s,350@4s';
const PERIOD_S = 8;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function send(url: string, method: string, body?: unknown): Promise<number> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  await res.text();
  return res.status;
}

describe('yocto-redfish read by the redfish adapter, the collector and the api-server', () => {
  let dir = '';
  let api: ApiServer;
  const stored: Array<{ equipment: string; sensor: string; value: number }> = [];
  const flatMeter = new SimulatedMeter({ profile: 'constant:200' });
  const steppedMeter = new SimulatedMeter({ profile: STEPPED });
  let flat: RedfishService;
  let stepped: RedfishService;
  let collector: Collector | undefined;
  let adapter: PowerAdapter | undefined;

  beforeAll(async () => {
    dir = makeTempDir('yrf-contract');
    api = createApiServer({
      port: 0,
      host: '127.0.0.1',
      storePath: ':memory:',
      dashboard: false,
      onEvent: (e: ApiEvent) => {
        if (e.type !== 'measurements') return;
        for (const r of e.readings) stored.push({ equipment: e.equipment, sensor: r.sensor, value: r.value });
      },
    });
    await api.listen();
    flat = createRedfishService({ meters: [{ meter: flatMeter }], sumChassis: true, pollIntervalMs: 50 });
    stepped = createRedfishService({ meters: [{ id: 'stepped', meter: steppedMeter }], pollIntervalMs: 20 });
    await flat.listen();
    await stepped.listen();
  });

  afterAll(async () => {
    await adapter?.close();
    await collector?.stop(2000);
    await flat.close();
    await stepped.close();
    await api.close();
    removeDir(dir);
  });

  it('gives the redfish adapter the simulated power exactly when it reads the service', async () => {
    const def = builtinAdapters.find((d) => d.type === 'redfish');
    if (def === undefined) throw new Error('no redfish adapter in builtinAdapters');
    const config = def.configSchema.parse({ id: 'flat', type: 'redfish', host: flat.url, temperature: false });
    adapter = def.create(config, { logger: noopLogger, requestTimeoutMs: 5000, equipmentId: 'flat' });
    const readings = await adapter.read(AbortSignal.timeout(5000));
    expect(readings.find((r) => r.sensor === 'power')?.value).toBe(200);
  });

  it('records the exact power and per-step joules within 0.5 % of the analytic value when the collector polls', async () => {
    const file = join(dir, 'collector-settings.yaml');
    writeFileSync(
      file,
      `PODS:
  - environment: ${ENV}
    polling_interval: 0.1
    servers:
      - {id: flat, type: redfish, host: "${new URL(flat.url).host}", user: "", pass: "", scheme: http}
      - {id: stepped, type: redfish, host: "${new URL(stepped.url).host}", user: "", pass: "", scheme: http}
RECORDER_API_SERVER: {base_url: "${api.url}"}
COLLECTOR: {spool_dir: "${join(dir, 'spool')}", flush_interval_ms: 50}
`,
    );
    collector = await Collector.create({ config: await loadCollectorConfigFile(file, createAdapterRegistry(builtinAdapters)) });
    await collector.start();
    const powerOf = (eq: string): number[] => stored.filter((r) => r.equipment === eq && r.sensor === 'power').map((r) => r.value);
    await waitFor(() => powerOf('flat').length >= 3 && powerOf('stepped').length >= 3, 'readings of both meters', 20_000);

    // Place the session on the stepped meter's time axis: low plateau [0,4) s, high [4,8) s of each period.
    const origin = steppedMeter.startedAtMs ?? 0;
    const meterS = (): number => (Date.now() - origin) / 1000;
    const periodStart = (Math.floor(meterS() / PERIOD_S) + 1) * PERIOD_S;
    const at = async (offsetS: number): Promise<void> => sleep((periodStart + offsetS) * 1000 + origin - Date.now());
    const base = `${api.url}/resources/recorders/environment/${ENV}`;
    await at(0.8);
    expect(await send(base, 'POST', { scenario: 'contract', step: 'low' })).toBe(200);
    await at(3.0);
    expect(await send(`${base}/step`, 'POST', { step: 'edge' })).toBe(200);
    await at(5.0);
    expect(await send(`${base}/step`, 'POST', { step: 'high' })).toBe(200);
    await at(7.2);
    expect(await send(base, 'DELETE')).toBe(200);
    // Let the last readings (after the stop) land, so the end boundary has a sample after it.
    const n = powerOf('stepped').length;
    await waitFor(() => powerOf('stepped').length >= n + 3, 'readings after the session', 10_000);
    await collector.stop(2000);
    collector = undefined;

    expect(powerOf('flat').every((w) => w === 200)).toBe(true);
    expect(new Set(powerOf('stepped'))).toEqual(new Set([150, 350]));

    const res = await fetch(`${base}/report?scenario=contract`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    const report = (await res.json()) as EnergyReport;
    expect(report.steps.map((s) => s.step)).toEqual(['low', 'edge', 'high']);
    const analytic = (meter: SimulatedMeter, startNs: number, endNs: number): number => {
      const t0 = meter.startedAtMs ?? 0;
      return meter.energyJoulesAt((endNs / 1e6 - t0) / 1000) - meter.energyJoulesAt((startNs / 1e6 - t0) / 1000);
    };
    const rows = report.steps.flatMap((s) =>
      s.equipments.map((e) => {
        const meter = e.equipment === 'flat' ? flatMeter : steppedMeter;
        const expected = analytic(meter, s.startNs, s.endNs ?? report.endNs ?? 0);
        // Energy counts covered time only (a poll the collector missed on a loaded box leaves an unbridged gap), so
        // it is compared per covered second: on each plateau that is the plateau's exact power.
        const perCovered = e.energyJoules / (e.coveragePct / 100);
        return { row: `${s.step}/${e.equipment}`, deviation: Math.abs(perCovered - expected) / expected, coverage: e.coveragePct };
      }),
    );
    expect(rows.map((r) => r.row).sort()).toEqual(['edge/flat', 'edge/stepped', 'high/flat', 'high/stepped', 'low/flat', 'low/stepped']);
    for (const r of rows) {
      // The edge step spans a 200 W jump, which linear interpolation between 0.1 s samples can only approach.
      const limit = r.row === 'edge/stepped' ? 0.1 : 0.005;
      // 0.1 s polls: an idle box covers 100 %; a loaded CI box misses a few (a stall over 0.3 s is a gap).
      expect({ row: r.row, within: r.deviation <= limit, coverage: r.coverage >= 90 }).toEqual({ row: r.row, within: true, coverage: true });
    }
  }, 60_000);

  it('serves EnergykWh within 0.5 % of the analytic energy since the meter started when read at the end', async () => {
    const before = Date.now();
    const res = await fetch(`${stepped.url}/redfish/v1/Chassis/stepped/EnvironmentMetrics`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { EnergykWh: { Reading: number } };
    const t0 = steppedMeter.startedAtMs ?? 0;
    const expectedKWh = steppedMeter.energyJoulesAt((before - t0) / 1000) / 3.6e6;
    expect(Math.abs(body.EnergykWh.Reading - expectedKWh) / expectedKWh).toBeLessThan(0.005);
  });
});
