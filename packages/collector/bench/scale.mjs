// Scale benchmark: one collector polls N simulated Redfish HTTP devices (two device processes) every 1 s and
// pushes to a sink API process. Two runs, each in its own process so heap and RSS do not carry over:
// - `minimal` (the named baseline): a bench-only adapter doing one undici GET of the chassis Power resource;
// - `redfish`: the real built-in `redfish` adapter (shared undici client, service discovery, Power fallback chain) on the
//   same devices, power only, so it also makes one GET per steady-state read.
// Reports on-time tick share, CPU seconds per reading and peak RSS per run, each also as a ratio to the baseline.
// On-time share is given for the whole run and for the part after a 10 s warm-up.
// Env: BENCH_DEVICES (1000), BENCH_SECONDS (60), BENCH_ADAPTERS (`minimal,redfish`; the first is the baseline),
// BENCH_HEAP (`daemon`: the old-generation growth bound the collector's main.ts sets, as deployed; `v8-default`),
// BENCH_ORIGINS (`process`: the devices of a device process share its port, so the HTTP client pools connections
// across them; `device`: every device listens on its own port, as real BMCs are one origin each),
// BENCH_HEAP_SNAPSHOT (a directory: write a heap snapshot of each run after the warm-up, to see what the live heap
// holds per device; it stalls the process for seconds, so the on-time figures of such a run do not count),
// BENCH_ALLOC_PROFILE=1 (V8's sampling heap profiler for 10 s after the warm-up, collected objects included: bytes
// allocated per reading and the functions that allocate most; sampling costs CPU, so again the figures do not count).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clearInterval, setInterval } from 'node:timers';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const ADAPTERS = (process.env.BENCH_ADAPTERS ?? 'minimal,redfish').split(',').filter((a) => a !== '');
const PROCESSES = 2;
const WARMUP_SECONDS = 10;
// `daemon` (default): the heap growth bound the collector's main.ts sets; `v8-default`: V8's own heuristics.
const HEAP = process.env.BENCH_HEAP ?? 'daemon';
const ORIGINS = process.env.BENCH_ORIGINS ?? 'process';
if (ORIGINS !== 'process' && ORIGINS !== 'device') throw new Error(`BENCH_ORIGINS must be process or device, not ${ORIGINS}`);
const RESULT = 'result ';

function startChild(script, args) {
  const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let waiters = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      for (const w of waiters) w();
      waiters = [];
    }
  });
  child.once('exit', () => {
    for (const w of waiters) w();
    waiters = [];
  });
  const nextLine = async (prefix) => {
    for (;;) {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return lines.splice(i, 1)[0];
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${script} exited before printing "${prefix}"`);
      await new Promise((r) => waiters.push(r));
    }
  };
  return { child, nextLine };
}

/** Peak RSS, with where the memory was at that moment (V8 heap spaces vs the rest), to say what to cut. */
function rssSampler(getHeapSpaceStatistics) {
  const t0 = Date.now();
  const snapshot = () => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    const atS = (Date.now() - t0) / 1000;
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, spaces, atS };
  };
  let peak = snapshot();
  const t = setInterval(() => {
    if (process.memoryUsage.rss() > peak.rss) peak = snapshot();
  }, 100);
  return () => {
    clearInterval(t);
    const last = snapshot();
    return last.rss > peak.rss ? last : peak;
  };
}

/**
 * Counts mark-compacts and the largest old-space use seen just after one: about the live heap during a tick,
 * which with the daemon's growth bound sets how far the old space may grow before the next one.
 */
async function majorGcWatcher(getHeapSpaceStatistics) {
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  let count = 0;
  let maxOldUsed = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      count++;
      const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
      maxOldUsed = Math.max(maxOldUsed, old?.space_used_size ?? 0);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return () => {
    obs.disconnect();
    return { count, maxOldUsed };
  };
}

const mb = (bytes) => (bytes / 2 ** 20).toFixed(0);

/** The three most frequent last errors of the devices (digits folded), to say why reads failed. */
function topErrors(devs) {
  const counts = new Map();
  for (const d of devs) {
    if (d.lastError === undefined) continue;
    const k = d.lastError.replace(/\d+/g, 'N').slice(0, 160);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, n]) => `${n}x ${k}`);
}

/** Samples allocations for 10 s and prints, to stderr, bytes per reading and the top allocating functions. */
async function allocationProfile(collector, adapter) {
  const { Session } = await import('node:inspector/promises');
  const readings = () => collector.status().environments.flatMap((e) => e.devices).reduce((n, d) => n + d.readings, 0);
  const session = new Session();
  session.connect();
  try {
    const before = readings();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await new Promise((r) => setTimeout(r, 10_000));
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const n = Math.max(1, readings() - before);
    const byFn = new Map();
    let total = 0;
    const walk = (node) => {
      total += node.selfSize;
      const f = node.callFrame;
      const where = f.url.replace(/^.*node_modules\//, '').replace(/^.*packages\//, '');
      const k = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
      byFn.set(k, (byFn.get(k) ?? 0) + node.selfSize);
      for (const c of node.children) walk(c);
    };
    walk(profile.head);
    const lines = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) => `  ${(v / n).toFixed(0).padStart(6)} B  ${k}`);
    process.stderr.write(`[${adapter}] ${(total / n / 1024).toFixed(1)} KB allocated per reading (${n} readings)\n${lines.join('\n')}\n`);
  } finally {
    session.disconnect();
  }
}

/** One collector run in this process; prints a `result {json}` line. */
async function run(adapter, devicePorts, sinkPort) {
  const { z } = await import('zod');
  const { createAdapterRegistry } = await import('@energyrecorder/core');
  const { builtinAdapters } = await import('@energyrecorder/adapters');
  const { Collector, resolveCollectorConfig, boundHeapGrowth } = await import('../dist/index.js');
  // As the daemon's main.ts does at start, unless asked to measure with V8's default heap growth.
  if (HEAP !== 'v8-default') boundHeapGrowth();
  const { Agent, request } = await import('undici');
  const { getHeapSpaceStatistics } = await import('node:v8');
  // 128 keep-alive sockets per origin: enough for a 1,000-device tick on two origins, bounded socket buffers.
  const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 60_000 });
  const minimal = {
    type: 'bench-redfish',
    description: 'GET <url> (legacy Power resource) -> PowerControl[0].PowerConsumedWatts',
    configSchema: z.looseObject({ url: z.string() }),
    create(config) {
      return {
        async read(signal) {
          const res = await request(config.url, { dispatcher, signal });
          const body = await res.body.json();
          const value = body?.PowerControl?.[0]?.PowerConsumedWatts;
          if (typeof value !== 'number') throw new Error('no PowerConsumedWatts');
          return [{ sensor: 'power', unit: 'W', value, timestampNs: Date.now() * 1e6 }];
        },
        async close() {},
      };
    },
  };
  // `devicePorts`: one port per device process, or with BENCH_ORIGINS=device one per device, in device order.
  const perProcess = Math.ceil(DEVICES / PROCESSES);
  const servers = [];
  for (let i = 0; i < DEVICES; i++) {
    const n = i % perProcess;
    const port = ORIGINS === 'device' ? devicePorts[i] : devicePorts[Math.floor(i / perProcess)];
    const root = ORIGINS === 'device' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/dev/${n}`;
    servers.push(
      adapter === 'minimal'
        ? { id: `chassis-${i}`, type: 'bench-redfish', url: `${root}/redfish/v1/Chassis/${n}/Power` }
        : { id: `chassis-${i}`, type: 'redfish', host: root, temperature: false },
    );
  }
  const spoolDir = mkdtempSync(join(tmpdir(), 'er-bench-spool-'));
  try {
    const registry = createAdapterRegistry([...builtinAdapters, minimal]);
    const config = resolveCollectorConfig(
      {
        PODS: [{ environment: 'BENCH', polling_interval: 1, servers }],
        RECORDER_API_SERVER: { base_url: `http://127.0.0.1:${sinkPort}`, timeout: 10 },
        COLLECTOR: { spool_dir: spoolDir, flush_interval_ms: 1000, spool_max_bytes: 256 * 1024 * 1024 },
      },
      registry,
    );
    const collector = await Collector.create({ config });
    const stopRss = rssSampler(getHeapSpaceStatistics);
    const stopGc = await majorGcWatcher(getHeapSpaceStatistics);
    const cpu0 = process.cpuUsage();
    await collector.start();
    // A second figure leaves out the start-up, where every device discovers at once.
    const warmS = Math.min(WARMUP_SECONDS, Math.floor(SECONDS / 2));
    await new Promise((r) => setTimeout(r, warmS * 1000));
    const warm = collector.status().environments.flatMap((e) => e.devices);
    if (process.env.BENCH_ALLOC_PROFILE) await allocationProfile(collector, adapter);
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      const { writeHeapSnapshot } = await import('node:v8');
      const file = writeHeapSnapshot(join(process.env.BENCH_HEAP_SNAPSHOT, `scale-${adapter}-${ORIGINS}.heapsnapshot`));
      process.stderr.write(`heap snapshot: ${file}\n`);
    }
    await new Promise((r) => setTimeout(r, (SECONDS - warmS) * 1000 + 200));
    await collector.stop(10_000);
    const cpuUsed = process.cpuUsage(cpu0);
    const peak = stopRss();
    const gc = stopGc();
    const status = collector.status();
    const devs = status.environments.flatMap((e) => e.devices);
    const sum = (f) => devs.reduce((n, d) => n + f(d), 0);
    process.stdout.write(
      `${RESULT}${JSON.stringify({
        adapter,
        ticks: sum((d) => d.ticks),
        onTime: sum((d) => d.onTimeReads),
        missed: sum((d) => d.missedTicks),
        failures: sum((d) => d.failures),
        readings: sum((d) => d.readings),
        backoffSkips: sum((d) => d.backoffSkips),
        warmS,
        steadyTicks: sum((d) => d.ticks) - warm.reduce((n, d) => n + d.ticks, 0),
        steadyOnTime: sum((d) => d.onTimeReads) - warm.reduce((n, d) => n + d.onTimeReads, 0),
        skipped: status.environments.reduce((n, e) => n + e.skippedTicks, 0),
        lastErrors: topErrors(devs),
        cpuS: (cpuUsed.user + cpuUsed.system) / 1e6,
        peakRss: peak.rss,
        peakHeapTotal: peak.heapTotal,
        peakHeapUsed: peak.heapUsed,
        peakNewSpace: peak.spaces.new_space ?? 0,
        peakOldSpace: peak.spaces.old_space ?? 0,
        peakAtS: peak.atS,
        majorGcs: gc.count,
        oldAfterMajorGcMax: gc.maxOldUsed,
        spoolBatches: status.push.spoolBatches,
      })}\n`,
    );
  } finally {
    await dispatcher.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

async function main() {
  const perProcess = Math.ceil(DEVICES / PROCESSES);
  const deviceProcs = [];
  const ports = [];
  for (let p = 0; p < PROCESSES; p++) {
    const proc = startChild('devices-server.mjs', [String(perProcess), `origins=${ORIGINS}`]);
    deviceProcs.push(proc);
    ports.push(...(await proc.nextLine('')).split(',').map(Number));
  }
  const sink = startChild('sink-server.mjs', []);
  const sinkPort = Number((await sink.nextLine('port ')).split(' ')[1]);
  const results = [];
  try {
    for (const adapter of ADAPTERS) {
      sink.child.kill('SIGUSR2');
      const before = Number((await sink.nextLine('count ')).split(' ')[1]);
      const runner = startChild('scale.mjs', ['run', adapter, ports.join(','), String(sinkPort)]);
      const r = JSON.parse((await runner.nextLine(RESULT)).slice(RESULT.length));
      await new Promise((resolve) => (runner.child.exitCode === null ? runner.child.once('exit', resolve) : resolve()));
      sink.child.kill('SIGUSR2');
      r.delivered = Number((await sink.nextLine('count ')).split(' ')[1]) - before;
      results.push(r);
    }
  } finally {
    for (const p of deviceProcs) p.child.kill('SIGTERM');
    sink.child.kill('SIGTERM');
  }
  const base = results[0];
  const perReading = (r) => r.cpuS / Math.max(1, r.readings);
  console.log(
    `scale bench: ${DEVICES} devices, 1 s interval, ${SECONDS} s per run; baseline: ${base.adapter} adapter; heap: ${HEAP === 'v8-default' ? "V8's default growth" : "the daemon's growth bound"}; origins: ${ORIGINS === 'device' ? 'one per device' : 'one per device process'}`,
  );
  for (const r of results) {
    const share = r.onTime / Math.max(1, r.ticks);
    console.log(`  [${r.adapter}]`);
    console.log(`    on-time ticks     ${(share * 100).toFixed(3)} % (${r.onTime}/${r.ticks}; missed ${r.missed}, skipped ${r.skipped}, failed ${r.failures}, back-off skips ${r.backoffSkips})`);
    console.log(`    after ${r.warmS} s        ${((r.steadyOnTime / Math.max(1, r.steadyTicks)) * 100).toFixed(3)} % on time (${r.steadyOnTime}/${r.steadyTicks})`);
    for (const e of r.lastErrors) console.log(`    last error        ${e}`);
    console.log(`    CPU per reading   ${(perReading(r) * 1e6).toFixed(1)} µs = ${(perReading(r) / perReading(base)).toFixed(2)}x baseline`);
    console.log(`    peak RSS          ${mb(r.peakRss)} MB = ${(r.peakRss / base.peakRss).toFixed(2)}x baseline`);
    console.log(
      `      at ${r.peakAtS.toFixed(1)} s: V8 heap ${mb(r.peakHeapTotal)} MB (used ${mb(r.peakHeapUsed)}; new space ${mb(r.peakNewSpace)}, old space ${mb(r.peakOldSpace)}), outside the heap ${mb(r.peakRss - r.peakHeapTotal)} MB`,
    );
    console.log(`    mark-compacts     ${r.majorGcs}; old space used after one: at most ${mb(r.oldAfterMajorGcMax)} MB`);
    console.log(`    delivered         ${r.delivered}/${r.readings} readings (${r.spoolBatches} batches left in spool)`);
    console.log(`    targets           on-time >= 99.9 %: ${share >= 0.999 ? 'met' : 'MISSED'}; RSS < 200 MB: ${r.peakRss < 200 * 2 ** 20 ? 'met' : 'MISSED'}`);
  }
}

if (process.argv[2] === 'run') {
  await run(process.argv[3], process.argv[4].split(',').map(Number), Number(process.argv[5])).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
  // Keep-alive sockets of the adapters must not keep the run alive once it has reported.
  process.exit();
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
