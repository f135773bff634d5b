import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A PEM key and certificate for 127.0.0.1, and the certificate's file path (to use as `ca_file`). */
export interface TestCert {
  keyPem: string;
  certPem: string;
  certFile: string;
}

/** Generates a self-signed certificate for 127.0.0.1 with `openssl` into `dir` (valid one day). */
export async function makeSelfSignedCert(dir: string): Promise<TestCert> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { keyPem: await readFile(keyFile, 'utf8'), certPem: await readFile(certFile, 'utf8'), certFile };
}

/** A request handler of a fake device; the body is already read. */
export type FakeHandler = (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

/** A running fake device server. */
export interface FakeServer {
  port: number;
  /** `http://127.0.0.1:<port>` or `https://...`. */
  origin: string;
  /** `127.0.0.1:<port>`. */
  hostPort: string;
  close(): Promise<void>;
}

/** Starts an HTTP (or, with `tls`, HTTPS) server on 127.0.0.1, port 0. `close()` also drops hung requests. */
export async function startFakeServer(handler: FakeHandler, options: { tls?: TestCert } = {}): Promise<FakeServer> {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, Buffer.concat(chunks).toString('utf8'), res)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer({ keepAliveTimeout: 30_000 }, listener)
      : createHttpsServer({ key: options.tls.keyPem, cert: options.tls.certPem, keepAliveTimeout: 30_000 }, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls === undefined ? 'http' : 'https';
  return {
    port,
    origin: `${scheme}://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends a raw text answer. */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Parses the `Authorization: Basic` header into `user:pass`, or undefined. */
export function basicCredentials(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined || !/^Basic /i.test(h)) return undefined;
  return Buffer.from(h.slice(6), 'base64').toString('utf8');
}

/** Parses a `Cookie` header. */
export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}
