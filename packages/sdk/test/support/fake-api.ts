import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One request the fake API received. */
export interface SeenRequest {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
  contentType: string | undefined;
}

interface Session {
  scenario: string;
  startNs: number;
  endNs: number | null;
  steps: { step: string; startNs: number; endNs: number | null }[];
}

/**
 * A small HTTP server speaking the recording API's REST contract (seed-behaviour §1.2 plus sessions/report), with
 * switches to make it misbehave. Used until the real api-server exists, and for failure modes it cannot produce.
 */
export class FakeApi {
  readonly requests: SeenRequest[] = [];
  /** Answer of the ping: `ok`, `ko` (500 {"message":"API-KO"}), or `hang` (no answer). */
  pingMode: 'ok' | 'ko' | 'hang' = 'ok';
  /** When set, every recorder call answers this status. */
  failStatus: number | undefined;
  /** A scenario name the start (`POST`) refuses with 400, as the api-server refuses a name it does not take. */
  refuseScenario: string | undefined;
  /** When true, the ping answers but recorder calls never do (a wedged API behind a live health check). */
  hangCalls = false;
  /** Delay in ms before each recorder call is handled (a slow API); calls are still handled in arrival order. */
  callDelayMs = 0;
  /** Delay before answering the ping. */
  pingDelayMs = 0;
  /** Coverage reported for every equipment (100 = all samples in). */
  reportCoverage = 100;
  private readonly server: Server;
  private readonly running = new Map<string, { scenario: string; step: string }>();
  private readonly sessions = new Map<string, Session[]>();
  private clock = 1_700_000_000_000_000_000;
  private port = 0;

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (typeof addr !== 'object' || addr === null) throw new Error('no address');
    this.port = addr.port;
    return this.url;
  }

  /** The `/resources` base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/resources`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The calls to the recorder endpoints, as `METHOD path body-json`, ping excluded. */
  calls(): string[] {
    return this.requests
      .filter((r) => !r.path.endsWith('/monitoring/ping'))
      .map((r) => `${r.method} ${r.path}${r.body === undefined ? '' : ` ${JSON.stringify(r.body)}`}`);
  }

  current(env: string): { scenario: string; step: string } | undefined {
    return this.running.get(env);
  }

  setRunning(env: string, scenario: string, step: string): void {
    this.running.set(env, { scenario, step });
  }

  private tick(): number {
    this.clock += 1_000_000_000;
    return this.clock;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = raw;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    this.requests.push({
      method,
      path: url.pathname,
      body,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
    });
    const send = (status: number, payload: unknown, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof payload === 'string' && type !== 'application/json' ? payload : JSON.stringify(payload));
    };
    if (url.pathname === '/resources/monitoring/ping') {
      if (this.pingMode === 'hang') return;
      if (this.pingDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.pingDelayMs));
      if (this.pingMode === 'ko') return send(500, { message: 'API-KO' });
      return send(200, { status: 'OK' });
    }
    const m = /^\/resources\/recorders\/environment\/([^/]+)(\/step|\/sessions|\/report)?$/.exec(url.pathname);
    if (m === null || m[1] === undefined) return send(404, { message: 'no such route' });
    if (this.hangCalls) return;
    if (this.callDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.callDelayMs));
    if (this.failStatus !== undefined) return send(this.failStatus, { message: 'forced failure' });
    const env = decodeURIComponent(m[1]);
    const notFound = { message: `Can't find any recording session for recorder "${env}"` };
    const list = this.sessions.get(env) ?? [];
    this.sessions.set(env, list);
    const cur = this.running.get(env);
    const open = list.find((s) => s.endNs === null);
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    switch (`${method} ${m[2] ?? ''}`) {
      case 'GET ':
        return cur === undefined ? send(404, notFound) : send(200, { environment: env, ...cur });
      case 'POST ': {
        if (typeof b['scenario'] !== 'string' || typeof b['step'] !== 'string' || b['scenario'] === this.refuseScenario) {
          return send(400, { errors: { scenario: 'required' }, message: 'Input payload validation failed' });
        }
        const now = this.tick();
        if (open !== undefined && open.scenario !== b['scenario']) this.close1(open, now);
        if (open === undefined || open.scenario !== b['scenario']) {
          list.unshift({ scenario: b['scenario'], startNs: now, endNs: null, steps: [{ step: b['step'], startNs: now, endNs: null }] });
        } else {
          this.stepTo(open, b['step'], now);
        }
        this.running.set(env, { scenario: b['scenario'], step: b['step'] });
        return send(200, { environment: env, scenario: b['scenario'], step: b['step'] });
      }
      case 'DELETE ':
        if (cur === undefined) return send(404, notFound);
        this.running.delete(env);
        if (open !== undefined) this.close1(open, this.tick());
        return send(200, { environment: env, ...cur });
      case 'POST /step':
        if (cur === undefined || typeof b['step'] !== 'string') return send(404, notFound);
        cur.step = b['step'];
        if (open !== undefined) this.stepTo(open, b['step'], this.tick());
        return send(200, { environment: env, ...cur });
      case 'GET /sessions':
        return send(200, { environment: env, sessions: list.map((s) => ({ ...s, running: s.endNs === null })) });
      case 'GET /report': {
        const scenario = url.searchParams.get('scenario');
        const s = scenario === null ? list[0] : list.find((x) => x.scenario === scenario);
        if (s === undefined) return send(404, { message: 'no session' });
        if (url.searchParams.get('format') === 'csv') {
          return send(200, 'scope,step,equipment,energy_j,energy_wh,avg_w,peak_w,min_w,duration_s,coverage_pct,samples,longest_gap_s\n', 'text/csv');
        }
        const eq = { equipment: 'srv-1', energyJoules: 3600, energyWh: 1, avgWatts: 100, maxWatts: 120, minWatts: 80, durationS: 36, coveragePct: this.reportCoverage, sampleCount: 37, longestGapS: 1, gapCount: 0 };
        return send(200, {
          environment: env,
          scenario: s.scenario,
          startNs: s.startNs,
          endNs: s.endNs,
          running: s.endNs === null,
          totals: { energyJoules: 3600, energyWh: 1, durationS: 36 },
          steps: s.steps.map((st) => ({ ...st, energyJoules: 3600, energyWh: 1, equipments: [eq] })),
          equipments: [eq],
        });
      }
      default:
        return send(405, { message: 'method not allowed' });
    }
  }

  private close1(s: Session, now: number): void {
    s.endNs = now;
    const last = s.steps.at(-1);
    if (last !== undefined && last.endNs === null) last.endNs = now;
  }

  private stepTo(s: Session, step: string, now: number): void {
    const last = s.steps.at(-1);
    if (last !== undefined && last.endNs === null) last.endNs = now;
    s.steps.push({ step, startNs: now, endNs: null });
  }
}
