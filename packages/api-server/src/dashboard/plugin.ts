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

  const streams = new Set<ServerResponse>();

  app.get('/resources/live', HIDDEN, async (req, reply) => {
    if (!authorized(req, reply)) return reply;
    const parsed = liveQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue === undefined ? 'query' : issue.path.join('.');
      return reply.code(400).send({ message: `${path}: ${issue?.message ?? 'invalid'}` });
    }
    const environment = parsed.data.environment;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      // Stops nginx (the original's usual front) from buffering the stream.
      'x-accel-buffering': 'no',
    });
    streams.add(res);

    let closed = false;
    let unsubscribe = (): void => undefined;
    const heartbeat = setInterval(() => write(': ping\n\n'), opts.heartbeatMs);
    heartbeat.unref();
    const close = (drop = false): void => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      streams.delete(res);
      // A dropped client is not reading: `end()` would queue the end behind what it never reads and keep the socket
      // and its buffer for ever. Destroying frees both; the browser sees the stream fail and reconnects.
      if (drop) res.destroy();
      else if (!res.writableEnded) res.end();
    };
    const write = (chunk: string): void => {
      if (closed) return;
      if (res.writableLength > opts.maxBufferedBytes) {
        logger.warn({ environment, bufferedBytes: res.writableLength }, 'slow live client dropped');
        close(true);
        return;
      }
      res.write(chunk);
    };

    write(`retry: ${opts.retryMs}\n\n`);
    if (environment === undefined) {
      write(sseFrame('environments', { environments: hub.environments() }));
    } else {
      write(sseFrame('backlog', hub.backlog(environment)));
    }
    unsubscribe = hub.subscribe(environment === undefined ? {} : { environment }, (event: LiveEvent) => {
      write(sseFrame(event.type, event.data));
    });
    req.raw.on('close', () => close());
    res.on('error', () => close());
    logger.debug({ environment, subscribers: hub.subscriberCount }, 'live client connected');
    return reply;
  });

  // Open streams would keep `close()` waiting for ever; end them before the server stops accepting.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
    streams.clear();
  });
};
