import { makeTempDir, peerAvailable, removeDir, startInfluxd, type InfluxdPeer } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../../src/index.js';
import { sendJson } from '../helpers.js';
import { queueDrained } from '../influx-queue-support.js';
import { interpolate, loadDashboard } from './grafana.js';

const haveInfluxd = peerAvailable('influxd', ['influxd']);
const describeInflux = haveInfluxd ? describe : describe.skip;

interface InfluxAnswer {
  results: Array<{ error?: string; series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }> }>;
}

describeInflux('Grafana dashboard queries against influxd fed by the API', () => {
  let influx: InfluxdPeer;
  let api: ApiServer;
  let url: string;
  let queueDir: string | undefined;

  const query = async (q: string): Promise<InfluxAnswer> => {
    const res = await fetch(`${influx.url}/query?db=NRG&q=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    return (await res.json()) as InfluxAnswer;
  };

  beforeAll(async () => {
    influx = await startInfluxd();
    queueDir = makeTempDir('api-grafana-queue');
    api = createApiServer({ settings: { INFLUX: { host: influx.url, db: 'NRG', queue_dir: queueDir } }, host: '127.0.0.1', port: 0, dashboard: false });
    url = await api.listen();
    const env = 'pod.grafana';
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}`, { scenario: 'sc-1', step: 'a' })).status).toBe(200);
    // Five samples 1 s apart per step: 100 W for step a, 200 W for step b, on two equipments.
    const batch = async (equipment: string, watts: number): Promise<void> => {
      const t0 = Date.now() * 1e6;
      const measurements = Array.from({ length: 5 }, (_, i) => ({ sensor: 'power', unit: 'W', value: watts, time: t0 + i * 1e9 }));
      expect((await sendJson(url, 'POST', `/resources/equipments/${equipment}/measurements`, { environment: env, time: t0, measurements })).status).toBe(200);
    };
    await batch('srv-1', 100);
    await batch('srv-2', 100);
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${env}/step`, { step: 'b' })).status).toBe(200);
    await batch('srv-1', 200);
    await batch('srv-2', 200);
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${env}`)).status).toBe(200);
    // Grafana's queries below go to influxd itself, not through the API.
    await queueDrained(api);
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await influx?.stop();
    if (queueDir !== undefined) removeDir(queueDir);
  });

  it('runs every query of the dashboard without an InfluxQL error when All is selected', async () => {
    for (const q of loadDashboard().queries) {
      const answer = await query(interpolate(q.query, { environment: 'pod.grafana' }));
      expect({ where: q.where, error: answer.results[0]?.error }).toEqual({ where: q.where, error: undefined });
    }
  });

  it('gives the energy per step and equipment in Wh when the table query runs', async () => {
    const { queries } = loadDashboard();
    const table = queries.find((q) => q.where === 'panel "Energy per step and equipment (Wh)"');
    const answer = await query(interpolate(table?.query ?? '', { environment: 'pod.grafana' }));
    const rows = (answer.results[0]?.series ?? [])
      .map((s) => [s.tags?.['step'], s.tags?.['equipement'], s.values[0]?.[1]])
      .sort((x, y) => `${String(x[0])}/${String(x[1])}`.localeCompare(`${String(y[0])}/${String(y[1])}`));
    // 4 s at 100 W = 400 J = 0.111 Wh; at 200 W, 0.222 Wh.
    expect(rows).toEqual([
      ['a', 'srv-1', expect.closeTo(400 / 3600, 9)],
      ['a', 'srv-2', expect.closeTo(400 / 3600, 9)],
      ['b', 'srv-1', expect.closeTo(800 / 3600, 9)],
      ['b', 'srv-2', expect.closeTo(800 / 3600, 9)],
    ]);
  });

  it('narrows the energy to one step and equipment when the variables select them', async () => {
    const stat = loadDashboard().queries.find((q) => q.where === 'panel "Energy in range (Wh)"');
    const answer = await query(interpolate(stat?.query ?? '', { environment: 'pod.grafana', step: 'b', equipement: 'srv-2' }));
    expect(answer.results[0]?.series?.[0]?.values[0]?.[1]).toBeCloseTo(800 / 3600, 9);
  });

  it('lists the scenario changes the annotations draw', async () => {
    const ann = loadDashboard().queries.find((q) => q.where.startsWith('annotation'));
    const answer = await query(interpolate(ann?.query ?? '', { environment: 'pod.grafana' }));
    const series = answer.results[0]?.series?.[0];
    const col = (name: string): number => series?.columns.indexOf(name) ?? -1;
    const rows = (series?.values ?? []).map((v) => [v[col('started')], v[col('scenario')], v[col('step')]]);
    expect(rows).toEqual([
      [1, 'sc-1', 'a'],
      [1, 'sc-1', 'b'],
      [0, 'sc-1', 'b'],
    ]);
  });
});
