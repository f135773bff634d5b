// Requests per second of the Redfish endpoints against a bare node:http server answering a fixed JSON body,
// both on loopback, measured in the same run. Run `npx tsup` first: this imports the built package.
import { createServer } from 'node:http';
import { request, Agent } from 'node:http';
import { createRedfishService, SimulatedMeter } from '../dist/index.js';

const DURATION_MS = 3000;
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

const baseline = await measure(barePort, '/');
const results = [
  ['Chassis/a/Power', await measure(port, '/redfish/v1/Chassis/a/Power')],
  ['Chassis/a/EnvironmentMetrics', await measure(port, '/redfish/v1/Chassis/a/EnvironmentMetrics')],
  ['Chassis collection', await measure(port, '/redfish/v1/Chassis')],
];
console.log(`baseline: bare node:http fixed JSON = 1.00 (${baseline.toFixed(0)} req/s, ${CONCURRENCY} keep-alive clients)`);
for (const [name, rps] of results) console.log(`${name}: ${(rps / baseline).toFixed(2)} x baseline`);
await svc.close();
await new Promise((r) => bare.close(r));
