import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * An HTTP proxy on 127.0.0.1 (CONNECT tunnels and absolute-URI requests) that counts what went through it and
 * records each request line. `connectPorts`, when given, are the only ports it opens a CONNECT tunnel to (squid's
 * default allows 443 only); others are answered 403, as squid does.
 */
export class ConnectProxy {
  tunnels = 0;
  forwarded = 0;
  /** Request lines as received: `POST http://127.0.0.1:8080/resources/... HTTP/1.1`, `CONNECT 127.0.0.1:8443 HTTP/1.1`. */
  readonly requestLines: string[] = [];

  constructor(private readonly options: { connectPorts?: readonly number[] } = {}) {}
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.requestLines.push(`${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}`);
      this.forwarded++;
      const target = new URL(req.url ?? '');
      const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    server.on('connect', (req, client: Socket, head: Buffer) => {
      this.requestLines.push(`CONNECT ${req.url ?? ''} HTTP/${req.httpVersion}`);
      const [host, port] = (req.url ?? '').split(':');
      const allowed = this.options.connectPorts;
      if (allowed !== undefined && !allowed.includes(Number(port))) {
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.tunnels++;
      const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
