import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, Client, Dispatcher } from 'undici';

/**
 * Limits of the shared keep-alive agents. An agent pools connections per origin, so these are per origin: a BMC
 * gets at most `maxSockets` connections whatever the number of device entries pointing at it (an aggregator, a
 * bridge serving many meters), and idle ones close after `freeSocketTimeoutMs` (sooner if the device says so).
 */
export const DEFAULT_HTTP_AGENT = Object.freeze({
  maxSockets: 16,
  freeSocketTimeoutMs: 15_000,
});

/** The TLS settings an https agent is built with; devices share an agent only when these are equal. */
export interface AgentTlsSettings {
  verifyCert: boolean;
  /** Extra CA (PEM) trusted on top of Node's bundled roots. */
  ca: Buffer | undefined;
}

/** A reference to a shared agent; {@link AgentLease.release} it when the client closes. */
export interface AgentLease {
  readonly agent: Agent;
  /**
   * Waits for one of the origin's `maxSockets` request slots; call the returned function when the exchange is
   * over. Requests wait here, holding nothing but a callback, rather than as fully built requests in the agent's
   * queue: a thousand devices on one origin would otherwise keep a thousand of them alive, and promoted to the
   * old generation, for the length of a tick.
   */
  slot(origin: string, signal: AbortSignal): Promise<() => void>;
  release(): void;
}

interface Entry {
  agent: Agent;
  refs: number;
  gates: Map<string, Gate>;
}

/** A counting semaphore with a FIFO of waiters, each of which can be aborted. */
class Gate {
  active = 0;
  private readonly waiters: { grant: () => void; fail: (reason: unknown) => void }[] = [];

  constructor(private readonly limit: number) {}

  get idle(): boolean {
    return this.active === 0 && this.waiters.length === 0;
  }

  enter(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        grant: (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: reject,
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  leave(): void {
    const next = this.waiters.shift();
    // The slot passes straight to the next waiter, so `active` stays as it is.
    if (next !== undefined) next.grant();
    else this.active -= 1;
  }
}

/**
 * Keep-alive agents shared by every HTTP client of the process, one per TLS profile: the plain-HTTP one, and one per
 * (verify, CA) pair. Per-device agents cost a socket, parser and buffers per device and a new connection on
 * every start; shared ones let devices on one origin reuse connections, while a device with other TLS settings
 * never gets a socket set up under someone else's. Credentials are request headers, never bound to a socket.
 * An agent is destroyed, closing its idle sockets, when its last client releases it.
 */
class SharedAgents {
  private readonly entries = new Map<string, Entry>();

  /** The agent for plain-HTTP origins. */
  http(): AgentLease {
    return this.lease('http', () => new Agent(agentOptions()));
  }

  /** The agent for https origins with these TLS settings. */
  https(tls: AgentTlsSettings): AgentLease {
    const caKey = tls.ca === undefined ? '-' : createHash('sha256').update(tls.ca).digest('hex');
    const key = `https|${tls.verifyCert ? 'verify' : 'no-verify'}|${caKey}`;
    return this.lease(key, () => {
      const ca = tls.ca;
      return new Agent({
        ...agentOptions(),
        connect: {
          rejectUnauthorized: tls.verifyCert,
          // An extra CA is added to Node's bundled roots, not substituted for them.
          ...(ca === undefined ? {} : { ca: [...rootCertificates, ca.toString('utf8')] }),
        },
      });
    });
  }

  private lease(key: string, make: () => Agent): AgentLease {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { agent: make(), refs: 0, gates: new Map() };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const held = entry;
    let released = false;
    return {
      agent: held.agent,
      slot: async (origin: string, signal: AbortSignal): Promise<() => void> => {
        let gate = held.gates.get(origin);
        if (gate === undefined) {
          gate = new Gate(DEFAULT_HTTP_AGENT.maxSockets);
          held.gates.set(origin, gate);
        }
        const g = gate;
        await g.enter(signal);
        let left = false;
        return () => {
          if (left) return;
          left = true;
          g.leave();
          if (g.idle && held.gates.get(origin) === g) held.gates.delete(origin);
        };
      },
      release: () => {
        if (released) return;
        released = true;
        held.refs -= 1;
        if (held.refs > 0) return;
        // Idle connections close now; nothing is in flight, as every client of this agent has closed.
        held.agent.destroy().catch(() => undefined);
        if (this.entries.get(key) === held) this.entries.delete(key);
      },
    };
  }
}

type Handlers = Dispatcher.DispatchHandlers;

function emitUntyped(emitter: EventEmitter, event: string, ...args: unknown[]): void {
  emitter.emit(event, ...args);
}

/**
 * `handler` with `settled` called once when its request ends, whichever way. One object with prototype methods
 * rather than a literal of eight closures: it lives as long as the request, so with a thousand requests in flight
 * it is among what V8 promotes.
 */
class SettledHandler implements Handlers {
  private done = false;

  constructor(
    private readonly handler: Handlers,
    private readonly settled: () => void,
  ) {}

  private settle(): void {
    if (this.done) return;
    this.done = true;
    this.settled();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.handler.onConnect?.(abort);
  }

  onResponseStarted(): void {
    this.handler.onResponseStarted?.();
  }

  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.handler.onHeaders?.(status, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData?.(chunk) ?? true;
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.handler.onBodySent?.(chunkSize, totalBytesSent);
  }

  onComplete(trailers: string[] | null): void {
    this.settle();
    this.handler.onComplete?.(trailers);
  }

  onError(err: Error): void {
    this.settle();
    this.handler.onError?.(err);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.settle();
    this.handler.onUpgrade?.(statusCode, headers, socket);
  }
}

/** One connection of an origin and its running requests; `release` is made once, not per request. */
class Conn {
  running = 0;
  readonly release = (): void => {
    this.running -= 1;
  };

  constructor(readonly client: Client) {}
}

/**
 * The connections of one origin: up to `max` undici `Client`s (one connection each), made when every existing
 * one has a request running, and a request goes to the first idle one, so a device polled alone keeps one warm
 * connection. In place of undici's `Pool`, which preallocates a 2,048-slot request queue (16 KB) per origin:
 * with one origin per BMC that was 16 MB of live heap at 1,000 devices, for a queue our per-origin slots keep
 * empty. The Pool also opened a second connection for a device's back-to-back discovery GETs.
 */
class OriginConnections extends Dispatcher {
  private readonly conns: Conn[] = [];

  constructor(
    private readonly origin: string | URL,
    private readonly options: Client.Options,
    private readonly max: number,
  ) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Handlers): boolean {
    const conn = this.pick();
    conn.running += 1;
    return conn.client.dispatch(options, new SettledHandler(handler, conn.release));
  }

  private pick(): Conn {
    let least: Conn | undefined;
    for (const c of this.conns) {
      if (c.running === 0) return c;
      if (least === undefined || c.running < least.running) least = c;
    }
    if (least !== undefined && this.conns.length >= this.max) return least;
    const client = new Client(this.origin, this.options);
    // The agent re-emits these with itself in front of the targets, which it spreads, so they are passed on with
    // targets as a pool would (undici's typings leave the targets out of `drain`).
    client.on('drain', (origin) => {
      emitUntyped(this, 'drain', origin, [this, client]);
    });
    client.on('connect', (origin, targets) => {
      this.emit('connect', origin, [this, ...targets]);
    });
    client.on('disconnect', (origin, targets, err) => {
      this.emit('disconnect', origin, [this, ...targets], err);
    });
    client.on('connectionError', (origin, targets, err) => {
      this.emit('connectionError', origin, [this, ...targets], err);
    });
    const conn = new Conn(client);
    this.conns.push(conn);
    return conn;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const all = Promise.all(this.conns.map((c) => c.client.close())).then(() => undefined);
    if (callback === undefined) return all;
    all.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const all = Promise.all(this.conns.map((c) => c.client.destroy(err))).then(() => undefined);
    if (callback === undefined) return all;
    all.then(callback, callback);
  }
}

function agentOptions(): Agent.Options {
  return {
    factory: (origin, opts) => new OriginConnections(origin, opts, DEFAULT_HTTP_AGENT.maxSockets),
    connections: DEFAULT_HTTP_AGENT.maxSockets,
    keepAliveTimeout: DEFAULT_HTTP_AGENT.freeSocketTimeoutMs,
    keepAliveMaxTimeout: DEFAULT_HTTP_AGENT.freeSocketTimeoutMs,
    // The caller's deadline governs; these only stop a connection that would otherwise wait forever.
    headersTimeout: 5 * 60_000,
    bodyTimeout: 5 * 60_000,
  };
}

/**
 * The process-wide agent pool. Module state on purpose, like Node's own `globalAgent`: sharing sockets across
 * devices is its point, and adapters are created one by one with no common owner to hand a pool down.
 */
export const sharedAgents = new SharedAgents();
