// Dashboard responsiveness: the page in Chromium with 50 equipments, an hour of 1 Hz history and 50 live
// readings per second posted to the API, next to the same page with no data (the baseline) in the same run.
// Loopback only, bounded in time (about 40 s). Needs `npm run build` first and /usr/bin/chromium.
/* global AbortSignal */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createApiServer, createDashboard } from '../dist/index.js';

const EQUIPMENTS = 50;
const HISTORY_S = 3600;
const MEASURE_MS = Number(process.env.BENCH_CASE_MS ?? 10_000);
const ENV = 'bench-pod';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

// Runs in the page: frame intervals from requestAnimationFrame and long tasks, over `ms`.
const MEASURE_IN_PAGE = (ms) => `new Promise((resolve) => {
  const deltas = [];
  let longTasks = 0;
  let longTaskMs = 0;
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) { longTasks++; longTaskMs += e.duration; } });
  obs.observe({ type: 'longtask', buffered: false });
  const chart = document.getElementById('chart');
  const r0 = Number(chart.dataset.renderCount ?? 0), m0 = Number(chart.dataset.renderMsTotal ?? 0);
  const start = performance.now();
  let last = start;
  const tick = (t) => {
    deltas.push(t - last);
    last = t;
    if (t - start < ${ms}) requestAnimationFrame(tick);
    else {
      obs.disconnect();
      deltas.sort((a, b) => a - b);
      const renders = Number(chart.dataset.renderCount ?? 0) - r0;
      const renderMs = Number(chart.dataset.renderMsTotal ?? 0) - m0;
      resolve({
        fps: deltas.length / ((t - start) / 1000),
        p95FrameMs: deltas[Math.floor(deltas.length * 0.95)] ?? 0,
        maxFrameMs: deltas[deltas.length - 1] ?? 0,
        longTasks, longTaskMs,
        renders, renderAvgMs: renders > 0 ? renderMs / renders : 0,
        samplesShown: Number(chart.dataset.sampleCount ?? 0),
        heapMb: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : NaN,
      });
    }
  };
  requestAnimationFrame(tick);
})`;

async function runCase(context, loaded) {
  const dashboard = createDashboard({ hubOptions: { backlogSeconds: HISTORY_S + 60, backlogSamplesPerEquipment: HISTORY_S + 60 } });
  const api = createApiServer({ port: 0, dashboard: false, plugins: [dashboard.register], onEvent: dashboard.onEvent });
  const url = await api.listen();
  const names = Array.from({ length: EQUIPMENTS }, (_, i) => `srv-${String(i).padStart(2, '0')}`);
  let feeding = loaded;
  let feeder = Promise.resolve();
  try {
    if (loaded) {
      // An hour of history straight into the live hub (as if the API had ingested it over the last hour).
      const endNs = Date.now() * 1e6;
      for (const [i, name] of names.entries()) {
        const points = [];
        for (let s = HISTORY_S; s > 0; s--) {
          points.push({ environment: ENV, equipment: name, scenario: 'bench', step: `phase-${Math.floor(s / 600)}`, sensor: 'power', unit: 'W', value: 150 + i + 40 * Math.sin(s / 60 + i), timeNs: endNs - s * 1e9 });
        }
        dashboard.hub.publishMeasurements(points);
      }
      // Then 50 readings per second through the real ingest route.
      feeder = (async () => {
        while (feeding) {
          const t = Date.now() * 1e6;
          await Promise.all(
            names.map((name, i) =>
              fetch(`${url}/resources/equipments/${name}/measurements`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ environment: ENV, time: t, measurements: [{ sensor: 'power', unit: 'W', value: 150 + i, time: t }] }),
                signal: AbortSignal.timeout(5000),
              }).then((r) => r.arrayBuffer()),
            ),
          );
          await new Promise((r) => setTimeout(r, 1000));
        }
      })();
    }
    const page = await context.newPage();
    await page.goto(`${url}/#environment=${ENV}`);
    await page.selectOption('#window-select', '3600');
    if (loaded) {
      await page.waitForFunction(`Number(document.getElementById('chart').dataset.seriesCount) === ${EQUIPMENTS}`, undefined, { timeout: 30_000 });
    }
    await page.waitForTimeout(1500);
    const stats = await page.evaluate(MEASURE_IN_PAGE(MEASURE_MS));
    await page.close();
    return stats;
  } finally {
    feeding = false;
    await feeder.catch(() => undefined);
    await api.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'er-dash-bench-'));
const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1366, height: 900 },
});
try {
  const base = await runCase(context, false);
  const load = await runCase(context, true);
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  console.log(`dashboard bench (${MEASURE_MS / 1000} s per case, window 1 h, headless Chromium, 2-core machine)`);
  console.log(`  baseline (empty page)           : ${f(base.fps)} frames/s, p95 frame ${f(base.p95FrameMs)} ms, long tasks ${base.longTasks}, render ${f(base.renderAvgMs, 2)} ms avg`);
  console.log(`  ${EQUIPMENTS} equipments, 1 h at 1 Hz + live : ${f(load.fps)} frames/s, p95 frame ${f(load.p95FrameMs)} ms, max ${f(load.maxFrameMs)} ms, long tasks ${load.longTasks} (${f(load.longTaskMs)} ms), ${load.renders} renders at ${f(load.renderAvgMs, 2)} ms avg, ${load.samplesShown} samples in view, JS heap ${f(load.heapMb)} MB`);
  console.log(`  ratio loaded/baseline           : frames/s ${f(load.fps / base.fps, 2)}, p95 frame ${f(load.p95FrameMs / base.p95FrameMs, 2)}`);
} finally {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}
