// Serves many simulated Redfish devices from one process. Each device <n> has one chassis whose legacy Power
// resource reports a PowerConsumedWatts that drifts per device, reachable two ways:
// - `/redfish/v1/Chassis/<n>/Power`, the one URL the bench's minimal adapter GETs;
// - a whole Redfish service under `/dev/<n>` (service root, Chassis collection, chassis, Power), which the real
//   `redfish` adapter walks with `host: http://127.0.0.1:<port>/dev/<n>`.
// Prints its port on stdout. With `origins=device` as second argument every device listens on a port of its own
// instead, as a BMC is an origin of its own, serving its service at `/redfish/v1`; it then prints all the ports,
// in device order, comma-separated on one line.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

const count = Number(process.argv[2] ?? 500);
const perDevice = process.argv[3] === 'origins=device';
const watts = new Float64Array(count).map((_, i) => 200 + (i % 50));

function power(prefix, i) {
  watts[i] += Math.random() - 0.5;
  return {
    '@odata.id': `${prefix}/redfish/v1/Chassis/${i}/Power`,
    Id: 'Power',
    PowerControl: [
      {
        '@odata.id': `${prefix}/redfish/v1/Chassis/${i}/Power#/PowerControl/0`,
        PhysicalContext: 'Chassis',
        PowerConsumedWatts: Math.round(watts[i] * 10) / 10,
      },
    ],
  };
}

function resource(url) {
  const direct = /^\/redfish\/v1\/Chassis\/(\d+)\/Power$/.exec(url);
  if (direct !== null) {
    const i = Number(direct[1]);
    return i < count ? power('', i) : undefined;
  }
  const m = /^\/dev\/(\d+)(\/redfish\/v1(?:\/.*)?)$/.exec(url);
  if (m === null) return undefined;
  const i = Number(m[1]);
  return i < count ? service(i, `/dev/${i}`, m[2] ?? '') : undefined;
}

/** Device `i`'s Redfish service, mounted at `prefix`; `path` starts at `/redfish/v1`. */
function service(i, prefix, path) {
  const chassis = `${prefix}/redfish/v1/Chassis/${i}`;
  switch (path.replace(/\/+$/, '')) {
    case '/redfish/v1':
      return { '@odata.id': `${prefix}/redfish/v1/`, Chassis: { '@odata.id': `${prefix}/redfish/v1/Chassis` } };
    case '/redfish/v1/Chassis':
      return { '@odata.id': `${prefix}/redfish/v1/Chassis`, Members: [{ '@odata.id': chassis }] };
    case `/redfish/v1/Chassis/${i}`:
      return { '@odata.id': chassis, Id: String(i), ChassisType: 'RackMount', Power: { '@odata.id': `${chassis}/Power` } };
    case `/redfish/v1/Chassis/${i}/Power`:
      return power(prefix, i);
    default:
      return undefined;
  }
}

function handler(find) {
  return (req, res) => {
    const found = find(req.url ?? '');
    if (found === undefined) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.stringify(found);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  };
}

function listen(onRequest) {
  const server = createServer(onRequest);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

if (perDevice) {
  const ports = [];
  for (let i = 0; i < count; i++) ports.push(await listen(handler((url) => service(i, '', url))));
  process.stdout.write(`${ports.join(',')}\n`);
} else {
  process.stdout.write(`${await listen(handler(resource))}\n`);
}
process.on('SIGTERM', () => process.exit(0));
