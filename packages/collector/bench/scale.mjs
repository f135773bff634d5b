// Scale benchmark: one collector polls 1,000 simulated Redfish HTTP devices (two device processes) every 1 s
// for 60 s and pushes to a sink API process. Reports on-time tick share, CPU seconds per reading and peak RSS,
// each as a ratio against the baseline measured after it in the same run: a bare loop doing the same 1,000 GETs
// per second with undici and nothing else.
/* global AbortSignal */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clearInterval, setInterval } from 'node:timers';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { createAdapterRegistry } from '@energyrecorder/core';
import { Collector, resolveCollectorConfig } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BASELINE_SECONDS = 10;
const PROCESSES = 2;

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
  const nextLine = async (prefix) => {
    for (;;) {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return lines.splice(i, 1)[0];
      await new Promise((r) => waiters.push(r));
    }
  };
  return { child, nextLine };
}

// 128 keep-alive sockets per device process: enough for a 1,000-device tick, bounded socket buffers.
const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 60_000 });

// The minimal Redfish-shaped adapter of the bench: one GET of the chassis Power resource per read.
const benchRedfish = {
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

function cpuSeconds(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function rssSampler() {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  return () => {
    clearInterval(t);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

async function main() {
  const perProcess = Math.ceil(DEVICES / PROCESSES);
  const deviceProcs = [];
  const urls = [];
  for (let p = 0; p < PROCESSES; p++) {
    const proc = startChild('devices-server.mjs', [String(perProcess)]);
    deviceProcs.push(proc);
    const port = Number(await proc.nextLine(''));
    for (let i = 0; i < perProcess && urls.length < DEVICES; i++) urls.push(`http://127.0.0.1:${port}/redfish/v1/Chassis/${i}/Power`);
  }
  const sink = startChild('sink-server.mjs', []);
  const sinkPort = Number((await sink.nextLine('port ')).split(' ')[1]);
  const spoolDir = mkdtempSync(join(tmpdir(), 'er-bench-spool-'));

  try {
    const registry = createAdapterRegistry([benchRedfish]);
    const config = resolveCollectorConfig(
      {
        PODS: [
          {
            environment: 'BENCH',
            polling_interval: 1,
            servers: urls.map((url, i) => ({ id: `chassis-${i}`, type: 'bench-redfish', url })),
          },
        ],
        RECORDER_API_SERVER: { base_url: `http://127.0.0.1:${sinkPort}`, timeout: 10 },
        COLLECTOR: { spool_dir: spoolDir, flush_interval_ms: 1000, spool_max_bytes: 256 * 1024 * 1024 },
      },
      registry,
    );
    const collector = await Collector.create({ config });
    const stopRss = rssSampler();
    const cpu1 = process.cpuUsage();
    await collector.start();
    await new Promise((r) => setTimeout(r, SECONDS * 1000 + 200));
    await collector.stop(10_000);
    const cpu = cpuSeconds(cpu1);
    const peakRss = stopRss();
    const status = collector.status();
    const devs = status.environments.flatMap((e) => e.devices);
    const ticks = devs.reduce((n, d) => n + d.ticks, 0);
    const onTime = devs.reduce((n, d) => n + d.onTimeReads, 0);
    const missed = devs.reduce((n, d) => n + d.missedTicks, 0);
    const failures = devs.reduce((n, d) => n + d.failures, 0);
    const readings = devs.reduce((n, d) => n + d.readings, 0);
    const skipped = status.environments.reduce((n, e) => n + e.skippedTicks, 0);
    // Baseline, measured after the collector so its garbage does not count against it: the same GETs,
    // aligned on whole seconds, with nothing else.
    const stopRss0 = rssSampler();
    const cpu0 = process.cpuUsage();
    let baseOk = 0;
    let baseOnTime = 0;
    let baseTicks = 0;
    for (let s = 0; s < BASELINE_SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
      const start = Date.now();
      baseTicks++;
      const results = await Promise.allSettled(
        urls.map(async (u) => {
          const res = await request(u, { dispatcher, signal: AbortSignal.timeout(800) });
          await res.body.json();
        }),
      );
      baseOk += results.filter((r) => r.status === 'fulfilled').length;
      if (Date.now() - start < 1000) baseOnTime++;
    }
    const baseCpuPerReq = cpuSeconds(cpu0) / Math.max(1, baseOk);
    const baseRss = stopRss0();

    sink.child.kill('SIGUSR2');
    const [, sinkReadings] = (await sink.nextLine('count ')).split(' ').map(Number);

    const share = onTime / Math.max(1, ticks);
    const cpuPerReading = cpu / Math.max(1, readings);
    console.log(`scale bench: ${DEVICES} devices, 1 s interval, ${SECONDS} s (baseline: bare undici GET loop, ${BASELINE_SECONDS} s)`);
    console.log(`  on-time ticks      ${(share * 100).toFixed(3)} % (${onTime}/${ticks}; missed ${missed}, skipped ${skipped}, failed ${failures}); baseline rounds on time ${baseOnTime}/${baseTicks}`);
    console.log(`  CPU per reading    ${(cpuPerReading * 1e6).toFixed(1)} µs = ${(cpuPerReading / baseCpuPerReq).toFixed(2)}x baseline (${(baseCpuPerReq * 1e6).toFixed(1)} µs per bare GET)`);
    console.log(`  peak RSS           ${(peakRss / 2 ** 20).toFixed(0)} MB = ${(peakRss / baseRss).toFixed(2)}x baseline (${(baseRss / 2 ** 20).toFixed(0)} MB)`);
    console.log(`  successful reads   ${((readings / Math.max(1, ticks)) * 100).toFixed(3)} % of device ticks; baseline ${((baseOk / Math.max(1, baseTicks * urls.length)) * 100).toFixed(3)} % of GETs`);
    console.log(`  delivered          ${sinkReadings}/${readings} readings (${status.push.spoolBatches} left in spool)`);
    console.log(`  targets            on-time >= 99.9 %: ${share >= 0.999 ? 'met' : 'MISSED'}; RSS < 200 MB: ${peakRss < 200 * 2 ** 20 ? 'met' : 'MISSED'}`);
  } finally {
    for (const p of deviceProcs) p.child.kill('SIGTERM');
    sink.child.kill('SIGTERM');
    await dispatcher.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
