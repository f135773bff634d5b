import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a fake device answers. */
export type DeviceMode = 'ok' | 'slow' | 'hang' | 'fail' | 'garbage' | 'auth';

/**
 * HTTP power meters on 127.0.0.1: `GET /dev/<name>` answers `{"watts": n}` where n counts the answers that
 * device sent (1, 2, 3...), so a test can tell exactly which readings existed.
 */
export class FakeDevices {
  readonly modes = new Map<string, DeviceMode>();
  /** Values each device fully sent, in order. */
  readonly served = new Map<string, number[]>();
  slowMs = 300;
  private server: Server | undefined;
  private port = 0;

  url(name: string): string {
    return `http://127.0.0.1:${this.port}/dev/${encodeURIComponent(name)}`;
  }

  /** Listens on 127.0.0.1:`port` (0: any free port). */
  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '').split('/')[2] ?? '');
      const mode = this.modes.get(name) ?? 'ok';
      if (mode === 'hang') return; // never answers; the client's abort closes the socket
      if (mode === 'fail') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"sensor fault"}');
        return;
      }
      if (mode === 'garbage') {
        // A 200 whose body is not the JSON it claims to be, as a BMC mid-reboot may serve.
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html><body>Loading…');
        return;
      }
      if (mode === 'auth') {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="bmc"' }).end();
        return;
      }
      const answer = (): void => {
        const list = this.served.get(name) ?? [];
        const value = list.length + 1;
        res.once('finish', () => list.push(value));
        this.served.set(name, list);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ watts: value }));
      };
      if (mode === 'slow') setTimeout(answer, this.slowMs);
      else answer();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
