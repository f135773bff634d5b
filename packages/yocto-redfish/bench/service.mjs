// Requests per second of the Redfish endpoints against a bare node:http server answering a fixed JSON body,
// both on loopback, measured in the same run. Run `npx tsup` first: this imports the built package.
import { createServer } from 'node:http';
import { request, Agent } from 'node:http';
import { createRedfishService, SimulatedMeter } from '../dist/index.js';

const DURATION_MS = 2000;
const CONCURRENCY = 8;

function get(agent, port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

async function measure(port, path) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const end = Date.now() + DURATION_MS;
  let count = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        await get(agent, port, path);
        count++;
      }
    }),
  );
  agent.destroy();
  return (count * 1000) / DURATION_MS;
}

const body = JSON.stringify({ PowerControl: [{ PowerConsumedWatts: 200 }] });
const bare = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
await new Promise((r) => bare.listen(0, '127.0.0.1', r));
const barePort = bare.address().port;

const svc = createRedfishService({
  meters: [
    { id: 'a', meter: new SimulatedMeter({ profile: 'sine:200+-50/30s' }) },
    { id: 'b', meter: new SimulatedMeter({ profile: 'constant:100' }) },
  ],
  pollIntervalMs: 1000,
});
const url = await svc.listen();
const port = Number(new URL(url).port);

// The machine is shared: each endpoint is measured right after its own baseline run, three rounds, and the
// median ratio is printed, so a load spike on one run does not decide the figure.
const ROUNDS = 3;
const targets = [
  ['Chassis/a/Power', '/redfish/v1/Chassis/a/Power'],
  ['Chassis/a/EnvironmentMetrics', '/redfish/v1/Chassis/a/EnvironmentMetrics'],
  ['Chassis collection', '/redfish/v1/Chassis'],
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const baselines = [];
console.log(`baseline: bare node:http server answering a fixed JSON body = 1.00 (${CONCURRENCY} keep-alive clients, median of ${ROUNDS} paired rounds)`);
for (const [name, path] of targets) {
  const ratios = [];
  for (let i = 0; i < ROUNDS; i++) {
    const base = await measure(barePort, '/');
    baselines.push(base);
    ratios.push((await measure(port, path)) / base);
  }
  console.log(`${name}: ${median(ratios).toFixed(2)} x baseline (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
}
console.log(`baseline median: ${median(baselines).toFixed(0)} req/s`);
await svc.close();
await new Promise((r) => bare.close(r));
