// Overhead of @enableRecording on an empty async method, next to the same method undecorated, measured in the
// same run: (1) against a real local api-server (embedded in-memory store), (2) with the API down after the
// first failure. Loopback only; bounded to well under 2 minutes.
import { createServer } from 'node:net';
import { EnergyRecorder, enableRecording } from '../dist/index.js';

let apiServerModule;
try {
  apiServerModule = await import('@energyrecorder/api-server');
} catch (err) {
  console.error(`cannot load @energyrecorder/api-server (run "npm run build" in packages/api-server first): ${err.message}`);
  process.exit(1);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timeCalls(fn, calls) {
  const samples = new Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Applies the decorator the way TC39 decorators call it (the legacy form goes through the same wrapper). */
function decorate(recorder, scenario, fn) {
  return enableRecording({ scenario, recorder })(fn, { kind: 'method', name: fn.name });
}

async function emptyMethod() {}

function fmt(ns) {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} us` : `${ns} ns`;
}

function line(label, base, decorated) {
  console.log(
    `${label.padEnd(34)} undecorated median ${fmt(base.median).padStart(10)} p99 ${fmt(base.p99).padStart(10)} | ` +
      `decorated median ${fmt(decorated.median).padStart(10)} p99 ${fmt(decorated.p99).padStart(10)} | ` +
      `ratio median x${(decorated.median / Math.max(1, base.median)).toFixed(1)}, p99 x${(decorated.p99 / Math.max(1, base.p99)).toFixed(1)}, ` +
      `added median ${fmt(decorated.median - base.median)}`,
  );
}

async function closedPort() {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const api = apiServerModule.createApiServer({ port: 0, host: '127.0.0.1' });
const base = await api.listen();
try {
  // 1. API up: every decorated call is GET current + POST start + DELETE (3 round trips on loopback).
  const up = new EnergyRecorder({ environment: 'bench-up', apiUrl: `${base}/resources` });
  const upMethod = decorate(up, 'bench-scenario', emptyMethod);
  await timeCalls(upMethod, 30);
  await timeCalls(emptyMethod, 1000);
  const upCalls = 400;
  const upBase = await timeCalls(emptyMethod, upCalls);
  const upDecorated = await timeCalls(upMethod, upCalls);
  line(`API up (${upCalls} calls)`, upBase, upDecorated);
  // Context: one bare fetch of the ping endpoint; a decorated call makes three such round trips.
  const ping = await timeCalls(() => fetch(`${base}/resources/monitoring/ping`).then((r) => r.text()), 100);
  console.log(`one loopback round trip (GET /monitoring/ping): median ${fmt(ping.median)} p99 ${fmt(ping.p99)}; decorated/round-trip median x${(upDecorated.median / ping.median).toFixed(1)}`);

  // 2. API down: the first call probes and fails, then every call is one clock check until the back-off ends.
  const down = new EnergyRecorder({
    environment: 'bench-down',
    apiUrl: `http://127.0.0.1:${await closedPort()}/resources`,
    retryAfterMs: 10 * 60_000,
  });
  const downMethod = decorate(down, 'bench-scenario', emptyMethod);
  await downMethod();
  if (down.available !== false) throw new Error('expected the recorder to be off after the failed probe');
  const downCalls = 200_000;
  await timeCalls(emptyMethod, 20_000);
  await timeCalls(downMethod, 20_000);
  const downBase = await timeCalls(emptyMethod, downCalls);
  const downDecorated = await timeCalls(downMethod, downCalls);
  line(`API down (${downCalls} calls)`, downBase, downDecorated);
} finally {
  await api.close();
}
