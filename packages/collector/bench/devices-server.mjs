// Serves many simulated Redfish chassis from one process: GET /redfish/v1/Chassis/<n>/Power answers a
// legacy Power resource whose PowerConsumedWatts drifts per chassis. Prints its port on stdout.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

const count = Number(process.argv[2] ?? 500);
const watts = new Float64Array(count).map((_, i) => 200 + (i % 50));
const server = createServer((req, res) => {
  const m = /^\/redfish\/v1\/Chassis\/(\d+)\/Power$/.exec(req.url ?? '');
  const i = m === null ? -1 : Number(m[1]);
  if (i < 0 || i >= count) {
    res.writeHead(404).end();
    return;
  }
  watts[i] += Math.random() - 0.5;
  const body = JSON.stringify({
    '@odata.id': `/redfish/v1/Chassis/${i}/Power`,
    Id: 'Power',
    PowerControl: [
      {
        '@odata.id': `/redfish/v1/Chassis/${i}/Power#/PowerControl/0`,
        PhysicalContext: 'Chassis',
        PowerConsumedWatts: Math.round(watts[i] * 10) / 10,
      },
    ],
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
