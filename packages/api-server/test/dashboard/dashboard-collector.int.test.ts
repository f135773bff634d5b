import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { builtinAdapters } from '@energyrecorder/adapters';
import { Collector, loadCollectorConfigFile } from '@energyrecorder/collector';
import { createAdapterRegistry } from '@energyrecorder/core';
import { makeTempDir, peerAvailable, removeDir, waitFor } from '@energyrecorder/testkit';
import { createRedfishService, SimulatedMeter, type RedfishService } from '@energyrecorder/yocto-redfish';
import { createApiServer, type ApiServer } from '../../src/index.js';
import { raw, sendJson } from '../helpers.js';
import { buildDashboardInto, CHROMIUM_ARGS } from './support.js';

const haveChromium = peerAvailable('chromium', ['chromium']);
const describeBrowser = haveChromium ? describe : describe.skip;

const SCREENSHOTS = join(__dirname, '..', '..', '..', '..', 'artifacts', 'screenshots');
const ENV = 'LAB-collector';

describeBrowser('dashboard fed by a collector polling simulated meters', () => {
  let dir: string;
  let api: ApiServer;
  let url: string;
  const meters: RedfishService[] = [];
  let collector: Collector | undefined;
  let browser: BrowserContext;
  let page: Page;

  const attr = async (name: string): Promise<number> => Number((await page.getAttribute('#chart', `data-${name}`)) ?? 0);

  beforeAll(async () => {
    dir = makeTempDir('dash-collector');
    await buildDashboardInto(join(dir, 'assets'));
    api = createApiServer({ port: 0, storePath: join(dir, 'store.db'), dashboard: { assetsDir: join(dir, 'assets') } });
    url = await api.listen();
    for (const profile of ['sine:200+-60/20s', 'steps:120@3s,320@3s']) {
      const service = createRedfishService({ meters: [{ meter: new SimulatedMeter({ profile }) }], sumChassis: true, host: '127.0.0.1', port: 0, pollIntervalMs: 100 });
      await service.listen();
      meters.push(service);
    }
    const file = join(dir, 'collector-settings.yaml');
    const servers = meters
      .map((m, i) => `      - {id: meter-${i + 1}, type: redfish, host: "${new URL(m.url).host}", user: "", pass: "", scheme: http}`)
      .join('\n');
    writeFileSync(
      file,
      `PODS:
  - environment: ${ENV}
    polling_interval: 0.5
    servers:
${servers}
RECORDER_API_SERVER: {base_url: "${url}"}
COLLECTOR: {spool_dir: "${join(dir, 'spool')}", flush_interval_ms: 100}
`,
    );
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${ENV}`, { scenario: 'nightly', step: 'deploy' })).status).toBe(200);
    collector = await Collector.create({ config: await loadCollectorConfigFile(file, createAdapterRegistry(builtinAdapters)) });
    await collector.start();
    // A persistent context is how Playwright takes a fresh --user-data-dir (here a temp dir).
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1366, height: 1000 },
      timeout: 60_000,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 120_000);

  afterAll(async () => {
    await collector?.stop(2000);
    await browser?.close();
    for (const m of meters) await m.close();
    await api?.close();
    removeDir(dir);
  });

  it('shows the scenario and a moving trace per meter when the collector pushes readings', async () => {
    await page.goto(`${url}/#environment=${ENV}`);
    await page.selectOption('#window-select', '60');
    await page.waitForSelector('#running-detail[data-scenario="nightly"][data-step="deploy"]');
    await waitFor(async () => (await attr('series-count')) === 2, 'a series per meter', 20_000);
    const first = await attr('last-sample-s');
    await waitFor(async () => (await attr('last-sample-s')) > first, 'the trace to move', 20_000);
    await sendJson(url, 'POST', `/resources/recorders/environment/${ENV}/step`, { step: 'test' });
    await page.waitForSelector('#running-detail[data-step="test"]');
    await waitFor(async () => (await attr('band-count')) >= 2, 'two step bands');
    await new Promise((r) => setTimeout(r, 3000));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-collector-live.png') });
  });

  it('shows the energy of the report endpoint when the session has finished', async () => {
    // Readings after the stop would still move the end-boundary interpolation: stop the collector first.
    await collector?.stop(2000);
    collector = undefined;
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${ENV}`)).status).toBe(200);
    const report = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/report`)).json as {
      running: boolean;
      totals: { energyJoules: number };
      equipments: Array<{ equipment: string }>;
    };
    expect(report.running).toBe(false);
    expect(report.equipments.map((e) => e.equipment).sort()).toEqual(['meter-1', 'meter-2']);
    await page.waitForSelector('.session-button[aria-current="true"]:not(:has(.badge))');
    await waitFor(
      async () => Number(await page.getAttribute('#report-total', 'data-energy-joules')) === report.totals.energyJoules,
      'the page to show the report energy',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-collector-report.png'), fullPage: true });
  });
});
