import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo, type DemoRun } from '../src/demo.js';
import { COMPARISON_CSV_HEADER, TOTAL_STEP } from '../src/report-table.js';

// Everything the demo needs runs in this process (api-server, yocto-redfish, collector, SDK): no peer binary.
describe('runDemo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-demo-'));
  let run: DemoRun | undefined;

  beforeAll(async () => {
    run = await runDemo({ port: 0, dataDir: join(dir, 'data'), outputDir: join(dir, 'out'), stepSeconds: 6 });
  }, 120_000);

  afterAll(async () => {
    await run?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every planned step for every machine when the suite has run', () => {
    const steps = new Set(run?.rows.map((r) => `${r.scenario}/${r.step}/${r.equipment}`));
    for (const s of ['functest/healthcheck', 'functest/tempest', 'functest/vping', 'bench/cpu', 'bench/disk', 'bench/network']) {
      for (const m of ['server-1', 'server-2', 'switch-1']) expect(steps.has(`${s}/${m}`)).toBe(true);
    }
  });

  it('matches the analytic energy within 0.5 % per step and equipment when the collector polls every second', () => {
    const rows = run?.rows ?? [];
    expect(rows.length).toBeGreaterThanOrEqual(2 * 5 * 3);
    for (const r of rows) {
      expect({ row: `${r.scenario}/${r.step}/${r.equipment}`, coverage: r.coveragePct >= 99.9 }).toEqual({ row: `${r.scenario}/${r.step}/${r.equipment}`, coverage: true });
      expect({ row: `${r.scenario}/${r.step}/${r.equipment}`, within: Math.abs(r.deviationPct) <= 0.5 }).toEqual({
        row: `${r.scenario}/${r.step}/${r.equipment}`,
        within: true,
      });
    }
    expect(run?.maxDeviationPct).toBeLessThanOrEqual(0.5);
  });

  it('shows different loads per step when the steps drive different bursts', () => {
    const tempest = run?.rows.find((r) => r.step === 'tempest' && r.equipment === 'server-1');
    const healthcheck = run?.rows.find((r) => r.step === 'healthcheck' && r.equipment === 'server-1');
    expect(tempest?.peakWatts ?? 0).toBeGreaterThan((healthcheck?.peakWatts ?? 0) + 150);
  });

  it('writes the report as JSON and CSV when done', () => {
    const [jsonFile, csvFile] = run?.files ?? [];
    expect(jsonFile !== undefined && existsSync(jsonFile)).toBe(true);
    const json = JSON.parse(readFileSync(jsonFile as string, 'utf8')) as { rows: unknown[]; reports: unknown[] };
    expect(json.rows).toHaveLength(run?.rows.length ?? -1);
    expect(json.reports).toHaveLength(2);
    const csv = readFileSync(csvFile as string, 'utf8').split('\r\n');
    expect(csv[0]).toBe(COMPARISON_CSV_HEADER);
    expect(csv.filter((l) => l.includes(TOTAL_STEP))).toHaveLength(6);
  });

  it('serves the Swagger UI and the dashboard at the printed URLs while it keeps running', async () => {
    const doc = await fetch(run?.swaggerUrl ?? 'http://127.0.0.1:1/', { signal: AbortSignal.timeout(5000) });
    expect(doc.status).toBe(200);
    const dash = await fetch(run?.dashboardUrl ?? 'http://127.0.0.1:1/', { signal: AbortSignal.timeout(5000) });
    // From sources (as here) the dashboard's assets are not built and it says so with a 503 page; the CLI test
    // below runs the built demo, where it must answer 200.
    expect([200, 503]).toContain(dash.status);
    expect(dash.headers.get('content-type')).toMatch(/text\/html/);
  });
});
