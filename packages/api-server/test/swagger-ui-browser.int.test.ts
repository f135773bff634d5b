import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeTempDir, peerAvailable, removeDir } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../src/index.js';
import { CHROMIUM_ARGS } from './dashboard/support.js';

const haveChromium = peerAvailable('chromium', ['chromium']);
const describeBrowser = haveChromium ? describe : describe.skip;

// The Swagger UI is served with a Content-Security-Policy (script-src 'self', connect-src 'self', ...): it must
// still render every operation and run "Try it out", with no violation reported by the browser.
describeBrowser('Swagger UI in Chromium under its Content-Security-Policy', () => {
  let dir: string;
  let api: ApiServer;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = makeTempDir('swagger-ui');
    api = createApiServer({ settings: { BIND: '127.0.0.1:0', STORE: { path: ':memory:' } }, dashboard: false });
    url = await api.listen();
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 60_000,
    });
    // Violations are events in the page; collected from the first script on.
    await context.addInitScript({
      content:
        "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => " +
        "window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await api?.close();
    removeDir(dir);
  });

  it('renders the operations and answers "Try it out" on the ping with no CSP violation', async () => {
    const response = await page.goto(`${url}/resources/doc/`);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page.waitForSelector('#operations-monitoring-get_resources_monitoring_ping', { timeout: 30_000 });
    expect(await page.textContent('.info .title')).toContain('Energy monitoring API');
    expect(await page.$$eval('.opblock', (ops) => ops.length)).toBeGreaterThanOrEqual(8);

    await page.click('#operations-monitoring-get_resources_monitoring_ping .opblock-summary');
    await page.click('#operations-monitoring-get_resources_monitoring_ping .try-out__btn');
    await page.click('#operations-monitoring-get_resources_monitoring_ping .execute');
    const status = await page.waitForSelector('#operations-monitoring-get_resources_monitoring_ping .live-responses-table tbody .response-col_status');
    expect((await status.textContent())?.trim()).toBe('200');

    expect(await page.evaluate(() => (globalThis as unknown as { __cspViolations: string[] }).__cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
