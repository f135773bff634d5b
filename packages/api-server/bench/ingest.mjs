// Ingest throughput: readings/s through the API (InfluxDB and embedded stores) for batches of 1, 100 and 1000,
// next to the same readings written as line protocol straight to the same influxd, in the same run.
//
// Fairness: influxd, each API (the built CLI, dist/main.js) and the load generator (load.mjs) are separate
// processes; the load generator uses the same undici Pool (BENCH_CONNECTIONS keep-alive connections, one request
// in flight each) for the baseline and the API; every case has a warm-up that is not counted. Peak RSS is the
// API process's VmHWM from /proc/<pid>/status. Loopback only. Needs `npx tsup` first and influxd on PATH.
//
// The box is shared, so throughput drifts with the neighbours' load: every batch size runs BENCH_ROUNDS rounds
// of (baseline, API→influx, API→sqlite) back to back, and the table shows the median rate and the median of the
// per-round ratios (each API case against the baseline of its own round).
//
// Steady state: the APIs are long-running Node servers whose per-request code (Fastify, node:http, undici) reaches
// V8's optimising tier only after a few thousand requests; at batch 1,000 that is several seconds of load. Measured
// round by round without it, the API→influx ratio climbed from 0.59 in round 1 to 0.75-0.78 by round 6, so the
// figures described warm-up, not the server. Before the first round every target (the baseline too) therefore gets
// BENCH_STEADY_MS of uncounted load, split over the batch sizes.
//
// Env: BENCH_WARMUP_MS (1000), BENCH_CASE_MS (2500), BENCH_STEADY_MS (12000), BENCH_ROUNDS (3), BENCH_CONNECTIONS (4),
// BENCH_BATCHES (1,100,1000), BENCH_TARGETS (direct,influx,sqlite), BENCH_CPU_PROF=<dir> runs the APIs under
// `node --cpu-prof`, BENCH_API_DIST (dist) names the build folder the APIs run from, for A/B runs of two builds,
// BENCH_NODE_FLAGS passes node/V8 flags to the APIs (space-separated).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 2500);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 12000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const BATCHES = (process.env.BENCH_BATCHES ?? '1,100,1000').split(',').map(Number);
const TARGETS = (process.env.BENCH_TARGETS ?? 'direct,influx,sqlite').split(',');
const CPU_PROF = process.env.BENCH_CPU_PROF;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitHttp(url, status) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).status === status) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer ${status}`);
}

function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

async function startInfluxd(dir) {
  const port = await freePort();
  const rpc = await freePort();
  for (const d of ['meta', 'data', 'wal']) mkdirSync(join(dir, d), { recursive: true });
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true\nbind-address = "127.0.0.1:${rpc}"\n[meta]\n  dir = "${dir}/meta"\n[data]\n  dir = "${dir}/data"\n  wal-dir = "${dir}/wal"\n  query-log-enabled = false\n[monitor]\n  store-enabled = false\n[http]\n  bind-address = "127.0.0.1:${port}"\n  log-enabled = false\n[logging]\n  level = "error"\n`,
  );
  const child = spawn('influxd', ['run', '-config', conf], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/ping`, 204);
  return { url, child };
}

async function startApi(dir, name, settingsYaml) {
  const port = await freePort();
  const conf = join(dir, `${name}.yaml`);
  writeFileSync(conf, settingsYaml);
  const nodeArgs = [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), ...(CPU_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${name}.cpuprofile`])];
  const child = spawn(process.execPath, [...nodeArgs, join(here, '..', process.env.BENCH_API_DIST ?? 'dist', 'main.js'), '--config', conf, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/resources/monitoring/ping`, 200);
  return { url, child };
}

function vmHwmMiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

// CPU used per 1,000 readings during the measured window of the last case, by process (ms).
const cpuLog = [];

function load(target, url, batch, tag, apiPid, { warmupMs = WARMUP_MS, measureMs = CASE_MS, record = true } = {}) {
  const opts = { target, url, batch, connections: CONNECTIONS, warmupMs, measureMs, tag, pids: { influxd: influx.child.pid, api: apiPid } };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'load.mjs'), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      const r = JSON.parse(out.trim());
      if (record && r.cpu !== undefined && r.readings > 0) {
        const per = (s) => (1e6 * s) / r.readings;
        cpuLog.push({ target: tag, batch, load: per(r.cpu.load), influxd: per(r.cpu.influxd), api: apiPid === undefined ? 0 : per(r.cpu.api), apiSys: apiPid === undefined ? 0 : per(r.cpu.apiSys), influxdSys: per(r.cpu.influxdSys) });
      }
      if (r.errors > 0) process.stderr.write(`  ${target} batch ${batch}: ${r.errors} failed requests, last: ${r.lastError}\n`);
      resolve(r.readings / r.seconds);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'er-bench-'));
const influx = await startInfluxd(join(dir, 'influx'));
const apis = {};
try {
  if (TARGETS.includes('influx')) {
    apis.influx = await startApi(dir, 'api-influx', `INFLUX:\n  host: "${influx.url}"\n  db: "NRG"\n  queue_dir: "${join(dir, 'influx-queue')}"\nLOG:\n  level: warn\n`);
  } else {
    // The baseline still needs the database the API would have created.
    await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE NRG')}`, { method: 'POST' });
  }
  if (TARGETS.includes('sqlite')) {
    apis.sqlite = await startApi(dir, 'api-sqlite', `STORE:\n  path: "${join(dir, 'bench.db')}"\nLOG:\n  level: warn\n`);
  }
  console.log(
    `ingest bench: ${CONNECTIONS} keep-alive connections from a separate load process, ${WARMUP_MS} ms warm-up + ${CASE_MS} ms per case, median of ${ROUNDS} rounds, loopback, ${process.version}`,
  );
  if (STEADY_MS > 0) {
    const each = { warmupMs: STEADY_MS / BATCHES.length, measureMs: 100, record: false };
    for (const batch of BATCHES) {
      if (TARGETS.includes('direct')) await load('direct', influx.url, batch, `wd${batch}`, undefined, each);
      for (const [name, api] of Object.entries(apis)) await load('api', api.url, batch, `w${name}${batch}`, api.child.pid, each);
    }
    console.log(`steady state: ${STEADY_MS} ms of uncounted load per target before the first round`);
  }
  console.log('batch | direct influxd (baseline) | API→influx (ratio) | API→sqlite (ratio)   [readings/s]');
  const median = (xs) => {
    const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return undefined;
    return v.length % 2 === 1 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  for (const batch of BATCHES) {
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = {};
      if (TARGETS.includes('direct')) r.direct = await load('direct', influx.url, batch, `d${batch}`);
      if (apis.influx) r.influx = await load('api', apis.influx.url, batch, `i${batch}`, apis.influx.child.pid);
      if (apis.sqlite) r.sqlite = await load('api', apis.sqlite.url, batch, `s${batch}`, apis.sqlite.child.pid);
      rounds.push(r);
      if (process.env.BENCH_VERBOSE) console.log(`  round ${round + 1}: ${Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)}${r.direct && k !== 'direct' ? ` (${(v / r.direct).toFixed(2)})` : ''}`).join(', ')}`);
    }
    const rate = (k) => median(rounds.map((r) => r[k]));
    const ratio = (k) => median(rounds.map((r) => (r.direct ? r[k] / r.direct : NaN)));
    const cell = (k) => {
      const v = rate(k);
      if (v === undefined) return '-'.padStart(10);
      const q = ratio(k);
      return `${v.toFixed(0).padStart(10)}${q === undefined ? '' : ` (${q.toFixed(2)})`}`;
    };
    console.log(`${String(batch).padStart(5)} | ${cell('direct')} | ${cell('influx')} | ${cell('sqlite')}`);
  }
  // Where the CPU goes: medians over the rounds of CPU ms per 1,000 readings, by process. On a 2-core box the
  // sum bounds the rate, so this shows what the API hop costs next to influxd's own work.
  console.log('CPU ms per 1,000 readings (median of rounds): case | load generator | influxd (of it kernel) | API (of it kernel)');
  const groups = new Map();
  for (const c of cpuLog) {
    const k = `${c.target.startsWith('d') ? 'direct' : c.target.startsWith('i') ? 'API→influx' : 'API→sqlite'} batch ${c.batch}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(c);
  }
  for (const [k, cs] of groups) {
    const m = (f) => median(cs.map(f)).toFixed(2).padStart(6);
    console.log(`${k.padEnd(24)} | ${m((c) => c.load)} | ${m((c) => c.influxd)} (${m((c) => c.influxdSys)}) | ${m((c) => c.api)} (${m((c) => c.apiSys)})`);
  }
  // On a 2-core box both paths run CPU-bound, so the ratio of their total CPU per reading is what the rate ratio
  // tends to; it moves far less with the neighbours' load (steal) than the rates, round by round.
  const total = (c) => c.load + c.influxd + c.api;
  for (const batch of BATCHES) {
    const d = groups.get(`direct batch ${batch}`);
    const i = groups.get(`API→influx batch ${batch}`);
    if (d === undefined || i === undefined) continue;
    console.log(`batch ${batch}: CPU-bound ratio API→influx / direct (all processes' CPU per reading): ${(median(d.map(total)) / median(i.map(total))).toFixed(2)}`);
  }
  for (const [name, api] of Object.entries(apis)) {
    console.log(`peak RSS (VmHWM) of the API process, ${name} store: ${vmHwmMiB(api.child.pid).toFixed(0)} MiB`);
  }
} finally {
  for (const api of Object.values(apis)) await stop(api.child);
  await stop(influx.child);
  rmSync(dir, { recursive: true, force: true });
}
if (CPU_PROF !== undefined) console.log(`CPU profiles in ${CPU_PROF}`);
