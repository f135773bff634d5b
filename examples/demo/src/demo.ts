import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { builtinAdapters } from '@energyrecorder/adapters';
import { createApiServer, type ApiServer } from '@energyrecorder/api-server';
import { Collector, resolveCollectorConfig } from '@energyrecorder/collector';
import { createAdapterRegistry, noopLogger, type Logger } from '@energyrecorder/core';
import { EnergyRecorder, setDefaultRecorder, type EnergyReport } from '@energyrecorder/sdk';
import { DEFAULT_RACK, startRack, type Rack, type RackMachine } from './rack.js';
import { comparisonToCsv, deviationPct, TOTAL_STEP, type ComparisonRow } from './report-table.js';
import { Bench, Functest, SUITE_PLAN, type StepLoad } from './suite.js';
import { sleep } from './internal/sleep.js';

/** What the demo tells its caller while it runs. */
export type DemoEvent =
  | { kind: 'started'; apiUrl: string; machines: ReadonlyArray<{ id: string; url: string }> }
  | { kind: 'warmup'; seconds: number }
  | { kind: 'step'; scenario: string; step: string; peakWatts: number; seconds: number; index: number; total: number }
  | { kind: 'power'; scenario: string; step: string; elapsedS: number; seconds: number; rackWatts: number }
  | { kind: 'waiting-report' }
  | { kind: 'written'; files: string[] };

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where the embedded store and the collector spool live. Default `./.energyrecorder`. */
  dataDir?: string;
  /** Where the report files go. Default `./demo-output`. */
  outputDir?: string;
  /** API port; 0 picks any. Default: 8888, or the next free one up to 8908. */
  port?: number;
  /** Overrides every step's load duration (s), e.g. to shorten a test run. */
  stepSeconds?: number;
  /** Environment (POD) name. Default `demo-pod`. */
  environment?: string;
  machines?: readonly RackMachine[];
  logger?: Logger;
  onEvent?: (event: DemoEvent) => void;
  signal?: AbortSignal;
}

/** A finished demo run whose servers are still up. */
export interface DemoRun {
  apiUrl: string;
  swaggerUrl: string;
  dashboardUrl: string;
  rows: ComparisonRow[];
  reports: EnergyReport[];
  /** Largest |deviation| over the step rows, in percent. */
  maxDeviationPct: number;
  files: string[];
  /** Stops the collector, the rack and the API (in that order). */
  close(): Promise<void>;
}

const FIRST_PORT = 8888;

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen(port, host, () => srv.close(() => resolvePort(true)));
  });
}

/** The first free port from 8888 on (the demo's documented port), or 0 (any) when none of 21 is free. */
export async function pickDemoPort(host = '127.0.0.1', first = FIRST_PORT): Promise<number> {
  for (let p = first; p <= first + 20; p++) if (await portFree(p, host)) return p;
  return 0;
}


/** Builds the comparison rows of one scenario report against the rack's exact profiles. */
export function compareReport(report: EnergyReport, rack: Pick<Rack, 'machines'>, nowMs: number): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const sessionEndNs = report.endNs ?? nowMs * 1e6;
  const windows = [
    ...report.steps.map((s) => ({ step: s.step, startNs: s.startNs, endNs: s.endNs ?? sessionEndNs, equipments: s.equipments })),
    { step: TOTAL_STEP, startNs: report.startNs, endNs: sessionEndNs, equipments: report.equipments },
  ];
  for (const w of windows) {
    for (const e of w.equipments) {
      const machine = rack.machines.find((m) => m.id === e.equipment);
      if (machine === undefined) continue;
      const expected = machine.profile.energyJoules(w.startNs / 1e6, w.endNs / 1e6);
      rows.push({
        scenario: report.scenario,
        step: w.step,
        equipment: e.equipment,
        energyJoules: e.energyJoules,
        energyWh: e.energyWh,
        avgWatts: e.avgWatts,
        peakWatts: e.maxWatts,
        coveragePct: e.coveragePct,
        expectedJoules: expected,
        deviationPct: deviationPct(e.energyJoules, expected),
      });
    }
  }
  return rows;
}

/**
 * Runs the whole system in this process: the recording API on the embedded store, a rack of three simulated
 * meters served as Redfish by yocto-redfish, a collector polling them every second through the `redfish`
 * adapter, and an example suite (`@enableRecording` / `@setStep`) whose steps drive the rack's load. Resolves
 * with the energy report compared with the exact energy of the simulated profile; the servers stay up until
 * `close()`.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRun> {
  const logger = options.logger ?? noopLogger;
  const emit = options.onEvent ?? ((): void => undefined);
  const signal = options.signal;
  const environment = options.environment ?? 'demo-pod';
  const dataDir = resolve(options.dataDir ?? '.energyrecorder');
  const outputDir = resolve(options.outputDir ?? 'demo-output');
  await mkdir(dataDir, { recursive: true });
  await mkdir(outputDir, { recursive: true });

  const host = '127.0.0.1';
  const port = options.port ?? (await pickDemoPort(host));
  let api: ApiServer | undefined;
  let rack: Rack | undefined;
  let collector: Collector | undefined;
  const close = async (): Promise<void> => {
    // Collector first, so it does not spool readings for an API that is going away.
    await collector?.stop(5000);
    await rack?.close();
    await api?.close();
  };
  try {
    api = createApiServer({ host, port, storePath: join(dataDir, 'demo.db'), logger: logger.child({ component: 'api' }) });
    const base = await api.listen();
    const apiUrl = `${base}/resources`;
    rack = await startRack({ machines: options.machines ?? DEFAULT_RACK, logger });

    const registry = createAdapterRegistry([...builtinAdapters]);
    const config = resolveCollectorConfig(
      {
        PODS: [
          {
            environment,
            polling_interval: 1,
            topology: { dc: 'demo-dc', rack: 'rack-1' },
            servers: rack.machines.map((m) => ({ id: m.id, type: 'redfish', host: m.url, temperature: false, timeout: 0.8 })),
          },
        ],
        RECORDER_API_SERVER: { base_url: base, timeout: 5 },
        COLLECTOR: { spool_dir: join(dataDir, 'spool'), flush_interval_ms: 250 },
      },
      registry,
      'demo',
    );
    collector = await Collector.create({ config, logger: logger.child({ component: 'collector' }) });
    await collector.start();
    emit({ kind: 'started', apiUrl: base, machines: rack.machines.map((m) => ({ id: m.id, url: m.url })) });

    const recorder = new EnergyRecorder({ environment, apiUrl, logger: logger.child({ component: 'sdk' }) });
    setDefaultRecorder(recorder);

    // A few samples before the first scenario, so its first step is covered from its very start.
    emit({ kind: 'warmup', seconds: 2.5 });
    await sleep(2500, signal);

    const plan = SUITE_PLAN.map((p): StepLoad => (options.stepSeconds === undefined ? p : { ...p, seconds: options.stepSeconds }));
    const activeRack = rack;
    let index = 0;
    const drive = async (scenario: string, step: string): Promise<void> => {
      const load = plan.find((p) => p.scenario === scenario && p.step === step);
      if (load === undefined) throw new Error(`no load planned for ${scenario}/${step}`);
      index++;
      emit({ kind: 'step', scenario, step, peakWatts: load.peakWatts, seconds: load.seconds, index, total: plan.length });
      // The step marker must be stored before the load starts, so the load falls inside its step.
      await recorder.flush();
      const startedAt = Date.now();
      const ticker = setInterval(() => {
        const now = Date.now();
        const watts = activeRack.machines.reduce((sum, m) => sum + m.profile.powerAt(now), 0);
        emit({ kind: 'power', scenario, step, elapsedS: (now - startedAt) / 1000, seconds: load.seconds, rackWatts: watts });
      }, 1000);
      try {
        await activeRack.drive(load.peakWatts, load.seconds * 1000, signal);
      } finally {
        clearInterval(ticker);
      }
    };

    await new Functest(drive).run();
    await new Bench(drive).run();
    signal?.throwIfAborted();

    emit({ kind: 'waiting-report' });
    const reports: EnergyReport[] = [];
    for (const scenario of ['functest', 'bench']) {
      const report = await recorder.report({ scenario, waitMs: 10_000, minCoveragePct: 99.99, pollIntervalMs: 500, ...(signal === undefined ? {} : { signal }) });
      if (report === null) throw new Error(`the API has no report for scenario ${scenario}`);
      reports.push(report);
    }
    const now = Date.now();
    const rows = reports.flatMap((r) => compareReport(r, activeRack, now));
    const stepRows = rows.filter((r) => r.step !== TOTAL_STEP);
    const maxDeviation = stepRows.reduce((m, r) => Math.max(m, Math.abs(r.deviationPct)), 0);

    const files = [join(outputDir, 'report.json'), join(outputDir, 'report.csv')];
    const json = {
      environment,
      generatedAt: new Date(now).toISOString(),
      apiUrl: base,
      machines: activeRack.machines.map((m) => ({ id: m.id, redfish: m.url, idleWatts: m.idleWatts, loadFactor: m.loadFactor })),
      plan,
      maxDeviationPct: maxDeviation,
      rows,
      reports,
    };
    await writeFile(files[0] as string, `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(files[1] as string, comparisonToCsv(rows));
    emit({ kind: 'written', files });

    return {
      apiUrl: base,
      swaggerUrl: `${base}/resources/doc/`,
      dashboardUrl: `${base}/`,
      rows,
      reports,
      maxDeviationPct: maxDeviation,
      files,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
