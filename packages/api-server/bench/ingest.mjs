// Ingest throughput: readings/s through the API (InfluxDB and embedded stores) for batches of 1, 100 and 1000,
// next to the same points written as line protocol straight to the same influxd, in the same run.
// Loopback only; each case runs for a fixed time. Needs `npx tsup` first and influxd on PATH.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setInterval, clearInterval } from 'node:timers';
import { createApiServer } from '../dist/index.js';

const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 4000);
const CONCURRENCY = 4;
const BATCHES = [1, 100, 1000];

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startInfluxd(dir) {
  const port = await freePort();
  const rpc = await freePort();
  for (const d of ['meta', 'data', 'wal']) mkdirSync(join(dir, d));
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true\nbind-address = "127.0.0.1:${rpc}"\n[meta]\n  dir = "${dir}/meta"\n[data]\n  dir = "${dir}/data"\n  wal-dir = "${dir}/wal"\n  query-log-enabled = false\n[monitor]\n  store-enabled = false\n[http]\n  bind-address = "127.0.0.1:${port}"\n  log-enabled = false\n[logging]\n  level = "error"\n`,
  );
  const child = spawn('influxd', ['run', '-config', conf], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/ping`)).status === 204) return { url, child };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('influxd did not start');
}

let seq = 0;
function batch(size) {
  const base = (Date.now() - 3600_000) * 1e6;
  return Array.from({ length: size }, () => ({ sensor: `s${seq % 8}`, unit: 'W', value: 100 + (seq % 50), time: base + ++seq * 1000 }));
}

async function timed(fn) {
  const end = Date.now() + CASE_MS;
  let readings = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) readings += await fn();
    }),
  );
  return readings / ((performance.now() - t0) / 1000);
}

async function viaApi(url, size) {
  return timed(async () => {
    const measurements = batch(size);
    const res = await fetch(`${url}/resources/equipments/bench-srv/measurements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'bench', measurements }),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`API answered ${res.status}`);
    return size;
  });
}

async function direct(influxUrl, size) {
  return timed(async () => {
    const body = batch(size)
      .map((m) => `SensorMeasurement,equipement=bench-srv,environment=bench,scenario=n/s,step=n/s,sensor=${m.sensor},unit=W value=${m.value} ${BigInt(m.time)}`)
      .join('\n');
    const res = await fetch(`${influxUrl}/write?db=NRG&precision=n`, { method: 'POST', body });
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`influxd answered ${res.status}`);
    return size;
  });
}

const dir = mkdtempSync(join(tmpdir(), 'er-bench-'));
const influx = await startInfluxd(join(dir, 'influx') && (mkdirSync(join(dir, 'influx')), join(dir, 'influx')));
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
const apiInflux = createApiServer({ settings: { INFLUX: { host: influx.url, db: 'NRG' } }, port: 0, host: '127.0.0.1' });
const apiSqlite = createApiServer({ port: 0, storePath: join(dir, 'bench.db') });
try {
  const urlInflux = await apiInflux.listen();
  const urlSqlite = await apiSqlite.listen();
  console.log(`ingest bench: ${CASE_MS} ms per case, ${CONCURRENCY} concurrent clients, loopback`);
  console.log('batch | direct influxd (baseline) | API→influx (ratio) | API→sqlite (ratio) | readings/s');
  for (const size of BATCHES) {
    const d = await direct(influx.url, size);
    const ai = await viaApi(urlInflux, size);
    const as = await viaApi(urlSqlite, size);
    console.log(
      `${String(size).padStart(5)} | ${d.toFixed(0).padStart(10)} (1.00) | ${ai.toFixed(0).padStart(10)} (${(ai / d).toFixed(2)}) | ${as.toFixed(0).padStart(10)} (${(as / d).toFixed(2)})`,
    );
  }
  console.log(`peak RSS of the API process: ${(peakRss / 1048576).toFixed(0)} MiB`);
} finally {
  clearInterval(rssTimer);
  await apiInflux.close();
  await apiSqlite.close();
  influx.child.kill('SIGTERM');
  await new Promise((r) => influx.child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
