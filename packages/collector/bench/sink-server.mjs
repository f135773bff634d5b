// A stand-in recording API for the benchmark: accepts measurement POSTs, counts readings, prints the count
// on SIGUSR2 and its port at start.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

let readings = 0;
let posts = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    readings += body.measurements.length;
    posts++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"OK"}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\n`));
process.on('SIGUSR2', () => process.stdout.write(`count ${readings} ${posts}\n`));
process.on('SIGTERM', () => process.exit(0));
