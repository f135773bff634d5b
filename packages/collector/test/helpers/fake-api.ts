import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** One POST the fake API received. */
export interface ReceivedPost {
  path: string;
  authorization: string | undefined;
  body: {
    environment: string;
    time: number;
    topology?: Record<string, string>;
    measurements: { sensor: string; unit: string; value: number; time: number }[];
  };
}

/** How the fake API answers: 200, or a fixed error status with a body and headers. */
export type FakeApiAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

/**
 * A stand-in for the recording API on 127.0.0.1 that records measurement POSTs. Used until (and besides) the
 * real api-server, for cases the real one cannot produce on demand (429, 400).
 */
export class FakeApi {
  readonly posts: ReceivedPost[] = [];
  /** POSTs received, answered or not. */
  received = 0;
  /** When true, requests are read and never answered. */
  hang = false;
  answer: (post: ReceivedPost) => FakeApiAnswer = () => ({ status: 200, body: { status: 'OK' } });
  private server: Server | undefined;
  port = 0;

  /** Serves HTTPS with this key and certificate when given. */
  constructor(private readonly tls?: { key: string; cert: string }) {}

  get url(): string {
    return `${this.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<void> {
    const handler: RequestListener = (req, res) => {
      void readBody(req).then((text) => {
        let body: ReceivedPost['body'];
        try {
          body = JSON.parse(text) as ReceivedPost['body'];
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"bad json"}');
          return;
        }
        const post: ReceivedPost = { path: req.url ?? '', authorization: req.headers.authorization, body };
        this.received++;
        if (this.hang) return; // never answers: only the client's abort or timeout ends the request
        const a = this.answer(post);
        if (a.status === 200) this.posts.push(post);
        res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers ?? {}) });
        res.end(JSON.stringify(a.body ?? {}));
      });
    };
    const server: Server = this.tls === undefined ? createServer(handler) : createHttpsServer(this.tls, handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Every measurement received, in arrival order, flattened with its device. */
  measurements(): { device: string; value: number; time: number; sensor: string }[] {
    return this.posts.flatMap((p) =>
      p.body.measurements.map((m) => ({
        device: decodeURIComponent(p.path.split('/')[3] ?? ''),
        value: m.value,
        time: m.time,
        sensor: m.sensor,
      })),
    );
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
