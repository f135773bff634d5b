import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeTempDir, peerAvailable, removeDir, waitFor } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../../src/index.js';
import { nsFromNow, raw, sendJson } from '../helpers.js';
import { basic, buildDashboardInto, CHROMIUM_ARGS } from './support.js';

const haveChromium = peerAvailable('chromium', ['chromium']);
const describeBrowser = haveChromium ? describe : describe.skip;

const SCREENSHOTS = join(__dirname, '..', '..', '..', '..', 'artifacts', 'screenshots');
const ENV = 'pod-e2e';
const EQUIPMENTS = ['srv-a', 'srv-b', 'pdu-1'];
const WRITER = { authorization: basic('ci', 'ci-secret-1') };

describeBrowser('dashboard in Chromium', () => {
  let dir: string;
  let api: ApiServer;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let feeding = true;
  let feeder: Promise<void> = Promise.resolve();
  const pageErrors: string[] = [];

  /** Real measurements over HTTP, as a collector posts them: one batch per equipment every 400 ms. */
  const feed = async (): Promise<void> => {
    let tick = 0;
    while (feeding) {
      const t = nsFromNow();
      await Promise.all(
        EQUIPMENTS.map((eq, i) =>
          sendJson(
            url,
            'POST',
            `/resources/equipments/${eq}/measurements`,
            { environment: ENV, time: t, measurements: [{ sensor: 'power', unit: 'W', value: 100 + 50 * i + (tick % 10), time: t }] },
            WRITER,
          ),
        ),
      );
      tick++;
      await new Promise((r) => setTimeout(r, 400));
    }
  };

  const chartState = async (): Promise<{ samples: number; last: number; series: number; bands: number }> => {
    const attr = async (name: string): Promise<number> => Number((await page.getAttribute('#chart', `data-${name}`)) ?? 0);
    return { samples: await attr('sample-count'), last: await attr('last-sample-s'), series: await attr('series-count'), bands: await attr('band-count') };
  };

  beforeAll(async () => {
    dir = makeTempDir('dash-browser');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await buildDashboardInto(join(dir, 'assets'));
    api = createApiServer({
      settings: {
        AUTH: {
          users: [
            { name: 'ci', password: 'ci-secret-1', role: 'writer' },
            { name: 'viewer', password: 'view-secret', role: 'reader' },
          ],
        },
      },
      host: '127.0.0.1',
      port: 0,
      storePath: join(dir, 'store.db'),
      dashboard: { assetsDir: join(dir, 'assets') },
    });
    url = await api.listen();
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1366, height: 1000 },
      httpCredentials: { username: 'viewer', password: 'view-secret' },
      acceptDownloads: true,
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });

    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${ENV}`, { scenario: 'boot-storm', step: 'warmup' }, WRITER)).status).toBe(200);
    feeder = feed();
  }, 120_000);

  afterAll(async () => {
    feeding = false;
    await feeder.catch(() => undefined);
    await context?.close();
    await api?.close();
    removeDir(dir);
  });

  it('refuses the page when the browser has no credentials', async () => {
    expect((await raw(url, 'GET', '/')).status).toBe(401);
  });

  it('shows the running scenario and step when the environment is opened', async () => {
    await page.goto(`${url}/#environment=${ENV}`);
    await page.waitForSelector('#running-detail[data-scenario="boot-storm"][data-step="warmup"]');
    await page.waitForSelector(`.env-button[data-environment="${ENV}"][aria-current="true"]`);
    expect(await page.textContent('.env-button .env-detail')).toContain('boot-storm');
  });

  it('moves the power trace of every equipment when new readings arrive', async () => {
    // A one-minute window, so the few seconds this test records fill a readable part of the chart.
    await page.selectOption('#window-select', '60');
    await waitFor(async () => (await chartState()).series === EQUIPMENTS.length, 'one series per equipment');
    const before = await chartState();
    await waitFor(async () => {
      const now = await chartState();
      return now.last > before.last && now.samples > before.samples;
    }, 'the trace to move');
    // The legend is refreshed once a second.
    await waitFor(async () => (await page.$$eval('#legend li', (lis) => lis.length)) === EQUIPMENTS.length, 'the legend');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-live.png') });
  });

  it('draws a band per step when the step changes', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${ENV}/step`, { step: 'steady' }, WRITER)).status).toBe(200);
    await page.waitForSelector('#running-detail[data-step="steady"]');
    await waitFor(async () => (await chartState()).bands >= 2, 'two step bands');
    await new Promise((r) => setTimeout(r, 1500));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-steps.png') });
  });

  it('shows the energy the report endpoint gives when the session has finished', async () => {
    // Readings after the stop would still move the report's end-boundary interpolation: stop them first.
    feeding = false;
    await feeder;
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${ENV}`, undefined, WRITER)).status).toBe(200);
    await page.waitForSelector('#running-detail:not([data-scenario])');
    const sessions = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/sessions`, { headers: WRITER })).json as {
      sessions: Array<{ scenario: string; running: boolean }>;
    };
    expect(sessions.sessions[0]).toMatchObject({ scenario: 'boot-storm', running: false });
    const report = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/report?scenario=boot-storm`, { headers: WRITER })).json as {
      totals: { energyJoules: number };
      steps: Array<{ equipments: unknown[] }>;
      equipments: unknown[];
    };
    expect(report.totals.energyJoules).toBeGreaterThan(0);

    // The page reloads the finished session itself; wait until it shows a finished one.
    await page.waitForSelector('.session-button[aria-current="true"]:not(:has(.badge))');
    await waitFor(async () => {
      const shown = Number(await page.getAttribute('#report-total', 'data-energy-joules'));
      return shown === report.totals.energyJoules;
    }, 'the page to show the report energy');
    const rows = await page.$$eval('#report-body tr', (trs) => trs.length);
    const expectedRows = report.steps.reduce((n, s) => n + s.equipments.length, 0) + report.equipments.length;
    expect(rows).toBe(expectedRows);
    expect(await page.$$eval('#report-bars svg rect.cov-fill', (r) => r.length)).toBe(report.steps.length);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-report.png'), fullPage: true });
  });

  it('downloads the shown report as CSV in the API layout when the button is pressed by keyboard', async () => {
    await page.focus('#report-csv');
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const file = join(dir, 'report.csv');
    await download.saveAs(file);
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(file, 'utf8').split('\r\n');
    const apiCsv = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/report?scenario=boot-storm&format=csv`, { headers: WRITER })).text
      .split(/\r?\n/)
      .filter((l) => l !== '');
    expect(csv[0]).toBe(apiCsv[0]);
    expect(csv.filter((l) => l !== '')).toHaveLength(apiCsv.length);
  });

  it('shows a visible focus ring when the controls are reached by keyboard', async () => {
    await page.focus('#env-input');
    await page.keyboard.press('Tab');
    // A string, so this file needs no DOM typings: it runs in the page.
    const focused = await page.evaluate(
      '(() => { const el = document.activeElement; return el === null ? null : { id: el.id, outline: getComputedStyle(el).outlineStyle }; })()',
    );
    expect(focused).toEqual({ id: '', outline: 'solid' });
    expect(pageErrors).toEqual([]);
  });
});
