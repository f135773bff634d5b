import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { noopLogger, type Logger } from '@energyrecorder/core';
import type { LiveEvent, LiveHub } from './live-hub.js';
import { createDashboardAuthCheck, type DashboardUser } from './internal/basic-auth.js';
import { nameSchema } from '../internal/validation.js';
import { defaultAssetsDirCandidates, loadStaticAssets, type StaticAsset } from './internal/static-assets.js';

/** Defaults of {@link dashboardPlugin}. */
export const DEFAULT_DASHBOARD_OPTIONS = Object.freeze({
  /** SSE comment sent this often so proxies and browsers keep the stream open. */
  heartbeatMs: 15_000,
  /** A client that lets this much pile up unread is dropped; its browser reconnects and gets the backlog. */
  maxBufferedBytes: 1024 * 1024,
  /**
   * Live streams open at once in this process (each dashboard tab holds two); more answer 503. Every stored batch
   * is written to each of them, so this bounds the work an ingest request does for the dashboard.
   */
  maxStreams: 100,
  /**
   * Unread bytes of all streams together, counted per stream (a frame waiting on two streams counts twice); past
   * it the streams holding the most are dropped first.
   */
  maxTotalBufferedBytes: 32 * 1024 * 1024,
  /** Reconnect delay the browser is told to use. */
  retryMs: 2000,
  /**
   * Realm of the Basic auth challenge: the REST API's, because browsers key saved credentials by realm and a
   * second realm would prompt again when the page calls the API.
   */
  realm: 'energyrecorder',
});

/** Options of {@link dashboardPlugin}. */
export interface DashboardPluginOptions {
  /** The hook the ingest and session routes publish to. */
  hub: LiveHub;
  /** Folder of the built front end; defaults to `dist/dashboard` of this package. */
  assetsDir?: string;
  /**
   * Users allowed to see the page and the live stream (any role: reading is what they do). When given and
   * `protectReads` is not false, every dashboard route answers 401 with a Basic challenge without valid ones.
   */
  auth?: { users: readonly DashboardUser[]; protectReads?: boolean };
  /** Interval of the SSE keep-alive comment; see {@link DEFAULT_DASHBOARD_OPTIONS}. */
  heartbeatMs?: number;
  /** Unread bytes after which a slow client is dropped; see {@link DEFAULT_DASHBOARD_OPTIONS}. */
  maxBufferedBytes?: number;
  /** Most live streams open at once; see {@link DEFAULT_DASHBOARD_OPTIONS}. */
  maxStreams?: number;
  /** Most unread bytes of all streams together; see {@link DEFAULT_DASHBOARD_OPTIONS}. */
  maxTotalBufferedBytes?: number;
  /** Reconnect delay sent to the browser; see {@link DEFAULT_DASHBOARD_OPTIONS}. */
  retryMs?: number;
  /** Basic auth realm; keep the API's so the browser prompts once. */
  realm?: string;
  /** Receives `component: dashboard` children; nothing with credentials is logged. */
  logger?: Logger;
}

// Exactly the names the API accepts for an environment, so every environment it records can be watched.
const liveQuerySchema = z.object({ environment: nameSchema.optional() });

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

// The dashboard's routes are not part of the recording API's OpenAPI document.
const HIDDEN = { schema: { hide: true } } as const;

const NOT_BUILT_PAGE =
  '<!doctype html><meta charset="utf-8"><title>EnergyRecorder</title>' +
  '<p>The dashboard has not been built. Run <code>npm run build</code> in <code>packages/api-server</code>.</p>';

function sseFrame(event: string, data: unknown): string {
  // JSON.stringify never emits a raw newline, so one `data:` line per event is always well-formed.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const HEARTBEAT = Buffer.from(': ping\n\n');

/** An open live stream. */
interface LiveStream {
  res: ServerResponse;
  /** Writes unless the stream is closed; drops the client when it let too much pile up unread. */
  write(chunk: string | Buffer): void;
  /** Ends the stream; `drop` destroys the connection instead (a client that does not read). */
  close(drop?: boolean): void;
}

/** The streams watching one environment (or all of them), with their one subscription to the hub. */
interface Audience {
  streams: Set<LiveStream>;
  unsubscribe: () => void;
}

/**
 * Fastify plugin serving the live dashboard: the built page at `/` and `/dashboard/*`, its live stream at
 * `GET /resources/live[?environment=<env>]` (Server-Sent Events: `backlog`, `power`, `session`, `environments`)
 * and the environments seen at `GET /resources/live/environments`.
 */
export const dashboardPlugin: FastifyPluginAsync<DashboardPluginOptions> = async (app, options) => {
  const opts = { ...DEFAULT_DASHBOARD_OPTIONS, ...options };
  const logger = (options.logger ?? noopLogger).child({ component: 'dashboard' });
  const hub = options.hub;
  const assetsDir =
    options.assetsDir ??
    defaultAssetsDirCandidates().find((d) => existsSync(join(d, 'index.html'))) ??
    (defaultAssetsDirCandidates()[0] as string);
  const assets = loadStaticAssets(assetsDir);
  if (!assets.has('index.html')) {
    logger.warn({ assetsDir }, 'dashboard assets not found; / explains how to build them');
  }

  const checkAuth = createDashboardAuthCheck(options.auth?.users ?? [], options.auth?.protectReads !== false);
  const authorized = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const outcome = checkAuth(req.headers.authorization);
    if (outcome.ok) return true;
    void reply.code(401).header('www-authenticate', `Basic realm="${opts.realm}"`).send({ message: outcome.message });
    return false;
  };

  const sendAsset = (req: FastifyRequest, reply: FastifyReply, name: string, asset: StaticAsset): FastifyReply => {
    reply.headers(SECURITY_HEADERS);
    reply.header('etag', asset.etag);
    // The file names carry no hash, so the browser must revalidate; the ETag makes that a cheap 304.
    reply.header('cache-control', name === 'index.html' ? 'no-cache' : 'no-cache, max-age=0');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.contentType).send(asset.body);
  };

  const servePage = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!authorized(req, reply)) return reply;
    const page = assets.get('index.html');
    if (page === undefined) {
      return reply.code(503).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    return sendAsset(req, reply, 'index.html', page);
  };

  app.get('/', HIDDEN, servePage);
  // One route for `/dashboard` and `/dashboard/`: the API app ignores trailing slashes, so a second would clash.
  app.get('/dashboard', HIDDEN, servePage);
  app.get<{ Params: { '*': string } }>('/dashboard/*', HIDDEN, async (req, reply) => {
    if (!authorized(req, reply)) return reply;
    const name = req.params['*'];
    if (name === '' || name === 'index.html') return servePage(req, reply);
    const asset = assets.get(name);
    if (asset === undefined) return reply.code(404).send({ message: `No dashboard file "${name}"` });
    return sendAsset(req, reply, name, asset);
  });

  app.get('/resources/live/environments', HIDDEN, async (req, reply) => {
    if (!authorized(req, reply)) return reply;
    return reply.header('cache-control', 'no-store').send({ environments: hub.environments() });
  });

  const streams = new Set<LiveStream>();
  // One hub subscription per watched environment (the key `undefined`: the stream of all environments), and each
  // event's frame built once and shared as one Buffer by every stream it goes to: the ingest request that
  // publishes a batch serialises it once, however many clients watch.
  const audiences = new Map<string | undefined, Audience>();
  const frames = new WeakMap<LiveEvent, Buffer>();
  const frameOf = (event: LiveEvent): Buffer => {
    let frame = frames.get(event);
    if (frame === undefined) {
      frame = Buffer.from(sseFrame(event.type, event.data));
      frames.set(event, frame);
    }
    return frame;
  };

  /** Drops the streams holding the most unread bytes until all of them together hold at most the budget. */
  const boundTotalBuffered = (): void => {
    let total = 0;
    for (const s of streams) total += s.res.writableLength;
    if (total <= opts.maxTotalBufferedBytes) return;
    const fullest = [...streams].sort((a, b) => b.res.writableLength - a.res.writableLength);
    for (const s of fullest) {
      if (total <= opts.maxTotalBufferedBytes) break;
      const held = s.res.writableLength;
      logger.warn({ bufferedBytes: held, totalBufferedBytes: total }, 'live client dropped: the live streams hold too much unread');
      total -= held;
      s.close(true);
    }
  };

  const watch = (environment: string | undefined, stream: LiveStream): (() => void) => {
    let audience = audiences.get(environment);
    if (audience === undefined) {
      const members = new Set<LiveStream>();
      const unsubscribe = hub.subscribe(environment === undefined ? {} : { environment }, (event: LiveEvent) => {
        const frame = frameOf(event);
        boundTotalBuffered();
        for (const s of members) s.write(frame);
      });
      audience = { streams: members, unsubscribe };
      audiences.set(environment, audience);
    }
    const a = audience;
    a.streams.add(stream);
    return () => {
      a.streams.delete(stream);
      if (a.streams.size === 0 && audiences.get(environment) === a) {
        audiences.delete(environment);
        a.unsubscribe();
      }
    };
  };

  app.get('/resources/live', HIDDEN, async (req, reply) => {
    if (!authorized(req, reply)) return reply;
    const parsed = liveQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue === undefined ? 'query' : issue.path.join('.');
      return reply.code(400).send({ message: `${path}: ${issue?.message ?? 'invalid'}` });
    }
    const environment = parsed.data.environment;
    if (streams.size >= opts.maxStreams) {
      logger.warn({ environment, streams: streams.size }, 'live stream refused: too many open');
      return reply
        .code(503)
        .header('retry-after', String(Math.ceil(opts.retryMs / 1000)))
        .send({ message: `Too many live streams are open (at most ${opts.maxStreams}); retry later` });
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      // Stops nginx (the original's usual front) from buffering the stream.
      'x-accel-buffering': 'no',
    });

    let closed = false;
    let leave = (): void => undefined;
    const stream: LiveStream = {
      res,
      write(chunk) {
        if (closed) return;
        if (res.writableLength > opts.maxBufferedBytes) {
          logger.warn({ environment, bufferedBytes: res.writableLength }, 'slow live client dropped');
          stream.close(true);
          return;
        }
        res.write(chunk);
      },
      close(drop = false) {
        if (closed) return;
        closed = true;
        leave();
        clearInterval(heartbeat);
        streams.delete(stream);
        // A dropped client is not reading: `end()` would queue the end behind what it never reads and keep the
        // socket and its buffer for ever. Destroying frees both; the browser sees the stream fail and reconnects.
        if (drop) res.destroy();
        else if (!res.writableEnded) res.end();
      },
    };
    const heartbeat = setInterval(() => stream.write(HEARTBEAT), opts.heartbeatMs);
    heartbeat.unref();
    streams.add(stream);

    stream.write(`retry: ${opts.retryMs}\n\n`);
    if (environment === undefined) {
      stream.write(sseFrame('environments', { environments: hub.environments() }));
    } else {
      stream.write(sseFrame('backlog', hub.backlog(environment)));
    }
    leave = watch(environment, stream);
    req.raw.on('close', () => stream.close());
    res.on('error', () => stream.close());
    logger.debug({ environment, streams: streams.size }, 'live client connected');
    return reply;
  });

  // Open streams would keep `close()` waiting for ever; end them before the server stops accepting.
  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.close();
  });
};
