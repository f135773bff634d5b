// Load generator, run in its own process by ingest.mjs so that the API under test does not share an event loop
// with its clients. Both targets get the same undici Pool (same connection count, keep-alive, no pipelining) and
// the same readings; only the encoding differs (line protocol for influxd, the collector's JSON for the API).
// Usage: node load.mjs <json options>; prints one JSON line {readings, seconds, errors} on stdout.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const o = JSON.parse(process.argv[2] ?? '{}');
const { target, url, batch, connections, warmupMs, measureMs } = o;
const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 });

// Timestamps an hour back, 1 µs apart and unique across the run, so every point is a new one for both stores.
let seq = 0;
const baseNs = BigInt(Date.now() - 3600_000) * 1_000_000n;
const eq = `bench-srv-${o.tag ?? 'x'}`;

// Tags sorted by key, as the API writes them and as InfluxDB advises, so the baseline is the best a direct client does.
function lineBody(size) {
  let s = '';
  for (let i = 0; i < size; i++) {
    const n = ++seq;
    if (i > 0) s += '\n';
    s += `SensorMeasurement,environment=bench,equipement=${eq},scenario=n/s,sensor=s${n % 8},step=n/s,unit=W value=${100 + (n % 50)} ${baseNs + BigInt(n) * 1000n}`;
  }
  return s;
}

// As the collector sends it: the batch's collect time at the top (the first reading's), each reading's own time.
function jsonBody(size) {
  let s = `{"environment":"bench","time":${baseNs + BigInt(seq + 1) * 1000n},"measurements":[`;
  for (let i = 0; i < size; i++) {
    const n = ++seq;
    if (i > 0) s += ',';
    s += `{"sensor":"s${n % 8}","unit":"W","value":${100 + (n % 50)},"time":${baseNs + BigInt(n) * 1000n}}`;
  }
  return `${s}]}`;
}

const request =
  target === 'direct'
    ? { method: 'POST', path: '/write?db=NRG&precision=n', headers: { 'content-type': 'text/plain; charset=utf-8' }, ok: 204, body: lineBody }
    : {
        method: 'POST',
        path: `/resources/equipments/${eq}/measurements`,
        headers: { 'content-type': 'application/json' },
        ok: 200,
        body: jsonBody,
      };

let counting = false;
let readings = 0;
let errors = 0;
let lastError = '';

async function one() {
  const res = await pool.request({ method: request.method, path: request.path, headers: request.headers, body: request.body(batch) });
  const text = await res.body.text();
  if (res.statusCode !== request.ok) {
    errors++;
    lastError = `${res.statusCode} ${text.slice(0, 200)}`;
    return;
  }
  if (counting) readings += batch;
}

async function loop(until) {
  while (performance.now() < until) await one();
}

const t0 = performance.now();
await Promise.all(Array.from({ length: connections }, () => loop(t0 + warmupMs)));
// CPU seconds (user + system) of another process so far, from /proc/<pid>/stat (USER_HZ is 100 on Linux).
function cpuOf(pid, which = 'both') {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(f[11]);
  const sys = Number(f[12]);
  return (which === 'sys' ? sys : which === 'user' ? user : user + sys) / 100;
}
const pids = o.pids ?? {};
const cpuSnapshot = () => {
  const own = process.cpuUsage();
  return { load: (own.user + own.system) / 1e6, influxd: cpuOf(pids.influxd), api: cpuOf(pids.api), apiSys: cpuOf(pids.api, 'sys'), influxdSys: cpuOf(pids.influxd, 'sys') };
};

counting = true;
const c1 = cpuSnapshot();
const t1 = performance.now();
await Promise.all(Array.from({ length: connections }, () => loop(t1 + measureMs)));
// An API with a write queue acknowledges once a batch is on its disk: the case ends when influxd has stored
// everything acknowledged (the queue is empty), so the rate is of readings stored, as the baseline's.
if (target === 'api') {
  for (;;) {
    const res = await pool.request({ method: 'GET', path: '/metrics' });
    const m = /^energyrecorder_influx_queue_batches (\d+)/m.exec(await res.body.text());
    if (m === null || m[1] === '0') break;
    await new Promise((r) => setTimeout(r, 20));
  }
}
const seconds = (performance.now() - t1) / 1000;
const c2 = cpuSnapshot();
await pool.close();
const cpu = { load: c2.load - c1.load, influxd: c2.influxd - c1.influxd, api: c2.api - c1.api, apiSys: c2.apiSys - c1.apiSys, influxdSys: c2.influxdSys - c1.influxdSys };
process.stdout.write(`${JSON.stringify({ readings, seconds, errors, lastError, cpu })}\n`);
