import { mkdirSync, readFileSync } from 'node:fs';
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
  const requested: string[] = [];

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
    // Sums layout shifts not caused by the user (the CLS metric) from the first paint on, for the no-jump check.
    await context.addInitScript({
      content:
        'window.__layoutShift = 0; new PerformanceObserver((list) => { for (const e of list.getEntries()) ' +
        "{ if (!e.hadRecentInput) window.__layoutShift += e.value; } }).observe({ type: 'layout-shift', buffered: true });",
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (req) => requested.push(req.url()));
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

  it('downloads the samples in the window as CSV and JSON when the live buttons are pressed', async () => {
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#live-csv')]);
    const csvFile = join(dir, 'live.csv');
    await csvDownload.saveAs(csvFile);
    const lines = readFileSync(csvFile, 'utf8').split('\r\n').filter((l) => l !== '');
    expect(lines[0]).toBe('time_ns,equipment,power_w');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(EQUIPMENTS));
    // The feeder sends 100 + 50 i + (tick % 10) W for equipment i.
    for (const [timeNs, equipment, watts] of rows) {
      const base = 100 + 50 * EQUIPMENTS.indexOf(equipment as string);
      expect(Number(watts)).toBeGreaterThanOrEqual(base);
      expect(Number(watts)).toBeLessThan(base + 10);
      expect(timeNs).toMatch(/^\d{19}$/);
    }

    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#live-json')]);
    const jsonFile = join(dir, 'live.json');
    await jsonDownload.saveAs(jsonFile);
    const body = JSON.parse(readFileSync(jsonFile, 'utf8')) as { environment: string; samples: Array<{ equipment: string }> };
    expect(body.environment).toBe(ENV);
    expect(new Set(body.samples.map((x) => x.equipment))).toEqual(new Set(EQUIPMENTS));
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
    const apiCsv = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/report?scenario=boot-storm&format=csv`, { headers: WRITER })).text;
    expect(apiCsv.split('\r\n').length).toBeGreaterThan(2);
    expect(readFileSync(file, 'utf8')).toBe(apiCsv);
  });

  it('downloads the session list as CSV and the report as JSON when those buttons are pressed', async () => {
    const [sessionsDownload] = await Promise.all([page.waitForEvent('download'), page.click('#sessions-csv')]);
    const sessionsFile = join(dir, 'sessions.csv');
    await sessionsDownload.saveAs(sessionsFile);
    const rows = readFileSync(sessionsFile, 'utf8').split('\r\n').filter((l) => l !== '');
    expect(rows[0]).toBe('scenario,session_start_ns,session_end_ns,running,step,step_start_ns,step_end_ns');
    expect(rows.slice(1).map((r) => r.split(',').slice(3, 5))).toEqual([
      ['false', 'warmup'],
      ['false', 'steady'],
    ]);

    const [reportDownload] = await Promise.all([page.waitForEvent('download'), page.click('#report-json')]);
    const reportFile = join(dir, 'report.json');
    await reportDownload.saveAs(reportFile);
    const api = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/report?scenario=boot-storm`, { headers: WRITER })).json as {
      totals: unknown;
      steps: unknown[];
    };
    const shown = JSON.parse(readFileSync(reportFile, 'utf8')) as { scenario: string; totals: unknown; steps: unknown[] };
    expect(shown.scenario).toBe('boot-storm');
    expect(shown.totals).toEqual(api.totals);
    expect(shown.steps).toHaveLength(api.steps.length);
  });

  it('loads nothing from outside the API origin when the page runs (no CDN, works offline)', () => {
    const origin = new URL(url).origin;
    const outside = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(requested.length).toBeGreaterThan(0);
    expect(outside).toEqual([]);
  });

  it('moves nothing on the page when readings, step changes and reports arrive', async () => {
    // CLS as Chromium computes it: 0 means no element moved without the user asking.
    expect(await page.evaluate("PerformanceObserver.supportedEntryTypes.includes('layout-shift')")).toBe(true);
    expect(await page.evaluate('window.__layoutShift')).toBe(0);
  });

  it('opens another session from the list when it is chosen by keyboard', async () => {
    const t = nsFromNow();
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${ENV}`, { scenario: 'cool-down', step: 'idle' }, WRITER)).status).toBe(200);
    await sendJson(url, 'POST', '/resources/equipments/srv-a/measurements', { environment: ENV, time: t, measurements: [{ sensor: 'power', unit: 'W', value: 80, time: t }] }, WRITER);
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${ENV}`, undefined, WRITER)).status).toBe(200);
    await page.waitForSelector('.session-button[data-scenario="cool-down"]');
    // From the sessions' download button, Tab walks the list newest first: cool-down, then boot-storm.
    await page.focus('#sessions-json');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.dataset.scenario')).toBe('boot-storm');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.session-button[data-scenario="boot-storm"][aria-current="true"]');
    // The list is redrawn on selection: the keyboard user must stay where they were.
    expect(await page.evaluate('document.activeElement.dataset.scenario')).toBe('boot-storm');
    await waitFor(async () => ((await page.textContent('#report-summary')) ?? '').startsWith('boot-storm'), 'the boot-storm report');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await waitFor(async () => ((await page.textContent('#report-summary')) ?? '').startsWith('cool-down'), 'the cool-down report');
  });

  it('keeps the keyboard focus on an environment when a session event redraws the list', async () => {
    await page.focus(`.env-button[data-environment="${ENV}"]`);
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${ENV}`, { scenario: 'focus-check', step: 'one' }, WRITER)).status).toBe(200);
    await waitFor(async () => ((await page.textContent('.env-button .env-detail')) ?? '').includes('focus-check'), 'the list to show the new scenario');
    expect(await page.evaluate('document.activeElement.dataset.environment')).toBe(ENV);
    // A new session must not take the selection away from the one the user chose (cool-down, just above),
    // also once the list was reloaded from the server (its start digits then replace the live stream's).
    const listed = (await raw(url, 'GET', `/resources/recorders/environment/${ENV}/sessions`, { headers: WRITER })).text;
    const serverStart = /"startNs":(\d+)/.exec(listed)?.[1];
    await page.waitForSelector(`.session-button[data-scenario="focus-check"][data-start-ns="${serverStart}"]`);
    expect(await page.getAttribute('.session-button[aria-current="true"]', 'data-scenario')).toBe('cool-down');
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${ENV}`, undefined, WRITER)).status).toBe(200);
  });

  it('shows the live panel whole and scrolls nothing sideways when the screen is a 1366×768 laptop', async () => {
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.evaluate('window.scrollTo(0, 0)');
    await new Promise((r) => setTimeout(r, 1200));
    const box = (await page.evaluate(
      '(() => { const r = document.getElementById("live").getBoundingClientRect(); return { bottom: r.bottom, right: r.right, scrollW: document.documentElement.scrollWidth, innerW: innerWidth }; })()',
    )) as { bottom: number; right: number; scrollW: number; innerW: number };
    expect(box.bottom).toBeLessThanOrEqual(768);
    expect(box.scrollW).toBeLessThanOrEqual(box.innerW);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-laptop.png') });
    await page.setViewportSize({ width: 1366, height: 1000 });
  });

  it('shows the scenario, live power and report colours of another environment when it is clicked', async () => {
    const OTHER = 'pod-other';
    const post = (equipment: string, value: number, t: number, environment = OTHER): Promise<{ status: number }> =>
      sendJson(url, 'POST', `/resources/equipments/${equipment}/measurements`, {
        environment, time: t, measurements: [{ sensor: 'power', unit: 'W', value, time: t }],
      }, WRITER);
    expect((await post('pdu-x', 200, nsFromNow(-2))).status).toBe(200);
    expect((await post('srv-y', 50, nsFromNow(-2))).status).toBe(200);
    expect((await sendJson(url, 'POST', `/resources/recorders/environment/${OTHER}`, { scenario: 'other-scn', step: 'load' }, WRITER)).status).toBe(200);
    expect((await post('pdu-x', 200, nsFromNow())).status).toBe(200);
    expect((await post('srv-y', 50, nsFromNow())).status).toBe(200);
    await page.click(`.env-button[data-environment="${OTHER}"]`);
    await page.waitForSelector(`.env-button[data-environment="${OTHER}"][aria-current="true"]`);
    await page.waitForSelector('#running-detail[data-scenario="other-scn"][data-step="load"]');
    expect(await page.textContent('#now-running strong')).toBe(OTHER);
    await waitFor(async () => (await chartState()).series === 2, 'the other environment\'s two series');
    await waitFor(async () => (await page.getAttribute('#legend', 'data-total-watts')) === '250.0', 'the other environment\'s live power');
    // A reading of the environment left behind is not drawn under the new one.
    expect((await post('srv-a', 999, nsFromNow(), ENV)).status).toBe(200);
    expect((await post('pdu-x', 210, nsFromNow())).status).toBe(200);
    await waitFor(async () => (await page.getAttribute('#legend', 'data-total-watts')) === '260.0', 'the new reading');
    expect((await chartState()).series).toBe(2);

    // The report's bars take each equipment's trace colour.
    await page.waitForSelector('#report-bars rect[data-equipment="pdu-x"]');
    const colours = (await page.evaluate(
      '(() => { const out = {}; for (const li of document.querySelectorAll("#legend li")) { const bar = document.querySelector(`#report-bars rect[data-equipment="${li.dataset.equipment}"]`); ' +
        'out[li.dataset.equipment] = [getComputedStyle(li.querySelector(".swatch")).backgroundColor, bar === null ? null : getComputedStyle(bar).fill]; } return out; })()',
    )) as Record<string, [string, string | null]>;
    expect(Object.keys(colours).sort()).toEqual(['pdu-x', 'srv-y']);
    expect(colours['pdu-x']?.[1]).toMatch(/^rgb/);
    for (const [swatch, bar] of Object.values(colours)) if (bar !== null) expect(bar).toBe(swatch);

    // A meter four minutes ahead (within the hub's tolerance) must not move the window off the others' traces.
    expect((await post('pdu-fast', 75, nsFromNow(240))).status).toBe(200);
    await waitFor(async () => (await chartState()).series === 3, 'the fast meter\'s series');
    expect((await chartState()).samples).toBeGreaterThanOrEqual(3);
    expect(await page.getAttribute('#legend', 'data-total-watts')).toBe('260.0');
    expect(pageErrors).toEqual([]);
    expect((await sendJson(url, 'DELETE', `/resources/recorders/environment/${OTHER}`, undefined, WRITER)).status).toBe(200);
  });

  it('lists an environment that only sends power when it first sends while the page is open', async () => {
    expect((await sendJson(url, 'POST', '/resources/equipments/meter/measurements', {
      environment: 'pod-power-only', time: nsFromNow(), measurements: [{ sensor: 'power', unit: 'W', value: 1, time: nsFromNow() }],
    }, WRITER)).status).toBe(200);
    await page.waitForSelector('.env-button[data-environment="pod-power-only"]');
    expect(await page.textContent('.env-button[data-environment="pod-power-only"] .env-detail')).toBe('idle');
  });

  it('lists a nested session indented under the one it ran inside when the inner recording restores the outer', async () => {
    const NESTED = 'pod-nested';
    const uri = `/resources/recorders/environment/${NESTED}`;
    expect((await sendJson(url, 'POST', uri, { scenario: 'outer', step: 'running' }, WRITER)).status).toBe(200);
    await page.waitForSelector(`.env-button[data-environment="${NESTED}"]`);
    await page.click(`.env-button[data-environment="${NESTED}"]`);
    await page.waitForSelector('#running-detail[data-scenario="outer"]');
    // The SDK's nested recording: the inner one starts, then its end re-submits the outer one; the outer one stops.
    expect((await sendJson(url, 'POST', uri, { scenario: 'inner', step: 'running' }, WRITER)).status).toBe(200);
    await page.waitForSelector('li.nested .session-button[data-scenario="inner"] .badge');
    expect((await sendJson(url, 'POST', uri, { scenario: 'outer', step: 'running' }, WRITER)).status).toBe(200);
    expect((await sendJson(url, 'DELETE', uri, undefined, WRITER)).status).toBe(200);
    await page.waitForSelector('#running-detail:not([data-scenario])');
    // A fresh tab lists what the server derives, with nothing patched in from the live stream (its requests for
    // idle environments answer 404, which Chromium logs: this tab's console is not watched).
    const fresh = await context.newPage();
    try {
      await fresh.goto(`${url}/#environment=${NESTED}`);
      await fresh.waitForSelector('.session-button[data-scenario="inner"]');
      const listed = await fresh.$$eval('#session-list li', (lis) =>
        lis.map((li) => [li.className, li.querySelector('.session-name')?.textContent, li.querySelector('.session-parent')?.textContent ?? null, li.querySelector('.badge') !== null]),
      );
      expect(listed).toEqual([
        ['nested', 'inner', 'inside outer', false],
        ['', 'outer', null, false],
      ]);
      await fresh.click('.session-button[data-scenario="outer"]');
      await waitFor(async () => /^outer: /.test((await fresh.textContent('#report-summary')) ?? ''), 'the finished outer report');
      await fresh.screenshot({ path: join(SCREENSHOTS, 'dashboard-nested.png'), fullPage: true });
    } finally {
      await fresh.close();
    }
    expect(pageErrors).toEqual([]);
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
