import { execFile } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const packageDir = join(__dirname, '..', '..');

/** Builds the dashboard into `outDir` with the same script `npm run build` uses. */
export async function buildDashboardInto(outDir: string): Promise<void> {
  await run(process.execPath, [join(packageDir, 'scripts', 'build-dashboard.mjs'), '--out', outDir], {
    cwd: packageDir,
    timeout: 120_000,
  });
}

/** One Server-Sent Event as received. */
export interface SseEvent {
  event: string;
  data: string;
}

/** A live SSE connection that collects events as they arrive. */
export interface SseClient {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  events: SseEvent[];
  /** Resolves with the first event (from the start) that matches. */
  next(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `path` as an event stream and parses events per the SSE format (event/data lines, blank line ends one). */
export function openSse(base: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    let req: ClientRequest | undefined;
    req = request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        const events: SseEvent[] = [];
        const waiters: Array<() => void> = [];
        let buffer = '';
        let endResolve = (): void => undefined;
        const ended = new Promise<void>((r) => (endResolve = r));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let idx: number;
          while ((idx = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, idx);
            buffer = buffer.slice(idx + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) events.push({ event, data: data.join('\n') });
          }
          for (const w of waiters.splice(0)) w();
        });
        res.on('end', endResolve);
        res.on('close', endResolve);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          ended,
          next(match, timeoutMs = 10_000) {
            return new Promise((ok, fail) => {
              const timer = setTimeout(() => fail(new Error(`no matching event in ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs);
              const check = (): void => {
                const found = events.find(match);
                if (found !== undefined) {
                  clearTimeout(timer);
                  ok(found);
                } else {
                  waiters.push(check);
                }
              };
              check();
            });
          },
          close() {
            req?.destroy();
            req = undefined;
          },
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `Authorization` header value for Basic auth. */
export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** Flags the project launches Debian's Chromium with (no sandbox in containers, no network chatter). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
] as const;
