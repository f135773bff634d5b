// Redfish reads per CPU-second of the client against a local fake BMC (a child process, so its CPU is not
// counted): one session reused across polls (baseline) versus a login and logout on every poll.
// Run after `npx tsup`: npm run bench
import { Buffer } from 'node:buffer';
/* global AbortSignal */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const USER = 'bench';
const PASS = 'bench-pass';
const DURATION_MS = Number(process.env.BENCH_MS ?? 4000);

function serveFakeBmc() {
  const c = '/redfish/v1/Chassis/1';
  const tree = new Map([
    ['/redfish/v1', { Chassis: { '@odata.id': '/redfish/v1/Chassis' } }],
    ['/redfish/v1/Chassis', { Members: [{ '@odata.id': c }] }],
    [c, { '@odata.id': c, Id: '1', EnvironmentMetrics: { '@odata.id': `${c}/EnvironmentMetrics` }, Thermal: { '@odata.id': `${c}/Thermal` } }],
    [`${c}/EnvironmentMetrics`, { PowerWatts: { Reading: 250 }, EnergykWh: { Reading: 12.5 } }],
    [`${c}/Thermal`, { Temperatures: [{ Name: 'Inlet', ReadingCelsius: 22, Status: { State: 'Enabled' } }] }],
  ]);
  const sessions = new Set();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const path = (req.url ?? '/').replace(/\/+$/, '');
      if (req.method === 'POST' && path === '/redfish/v1/SessionService/Sessions') {
        const { UserName, Password } = JSON.parse(body);
        if (UserName !== USER || Password !== PASS) return res.writeHead(401).end();
        const token = randomBytes(12).toString('hex');
        sessions.add(token);
        return res.writeHead(201, { 'x-auth-token': token, location: `/redfish/v1/SessionService/Sessions/${token}` }).end('{}');
      }
      if (path !== '/redfish/v1' && !sessions.has(req.headers['x-auth-token'])) return res.writeHead(401).end();
      if (req.method === 'DELETE') {
        sessions.delete(req.headers['x-auth-token']);
        return res.writeHead(204).end();
      }
      const found = tree.get(path);
      if (found === undefined) return res.writeHead(404).end('{}');
      const text = JSON.stringify(found);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
  process.on('message', (m) => m === 'stop' && server.close(() => process.exit(0)));
}

async function measure(label, readOnce) {
  const signal = AbortSignal.timeout(600_000);
  for (let i = 0; i < 50; i++) await readOnce(signal); // warm-up: JIT, sockets
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let reads = 0;
  while (Date.now() - t0 < DURATION_MS) {
    await readOnce(signal);
    reads += 1;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { label, reads, cpuS, perCpuS: reads / cpuS, wallS: (Date.now() - t0) / 1000 };
}

async function main() {
  const { redfishAdapter } = await import('../dist/index.js');
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const host = `http://127.0.0.1:${port}`;
  const ctx = { logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child() { return this; } }, requestTimeoutMs: 5000, equipmentId: 'b' };
  const make = () => redfishAdapter.create(redfishAdapter.configSchema.parse({ id: 'b', type: 'redfish', host, user: USER, pass: PASS }), ctx);
  try {
    const shared = make();
    const reuse = await measure('session reused across polls (baseline)', (s) => shared.read(s));
    await shared.close();
    const perPoll = await measure('login + logout on every poll', async (s) => {
      const a = make();
      try {
        await a.read(s);
      } finally {
        await a.close();
      }
    });
    for (const r of [reuse, perPoll]) {
      console.log(
        `${r.label.padEnd(42)} ${r.reads} reads in ${r.wallS.toFixed(1)} s, ${r.perCpuS.toFixed(0)} reads/CPU-s, ` +
          `${(r.perCpuS / reuse.perCpuS).toFixed(2)}x baseline`,
      );
    }
  } finally {
    child.send('stop');
  }
}

if (process.argv[2] === 'server') serveFakeBmc();
else await main();
