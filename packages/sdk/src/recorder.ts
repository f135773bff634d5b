import type { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@energyrecorder/core';
import { SdkError } from './errors.js';
import {
  ENV_VARS,
  optionsFromEnv,
  resolveRecorderOptions,
  type RecorderOptions,
  type ResolvedRecorderOptions,
} from './options.js';
import {
  parseReport,
  parseRunningScenario,
  parseSessions,
  type EnergyReport,
  type RunningScenario,
  type SessionsResponse,
} from './report.js';
import { enqueue, envState, sdkShared, type ActiveRecording, type EnvState } from './internal/env-state.js';
import { clip, httpCall, isRecord, parseJson, quoteSegment, type HttpRequest } from './internal/http.js';
import { guardedLogger, silentLogger } from './internal/logger.js';
import { shareDown, sharedDownUntil, sharedOuterToRestore, shareRecordingEnd, shareRecordingStart, shareUp } from './internal/shared-files.js';

/** The step every scenario starts with, as in the original SDK (core's `INITIAL_STEP`). */
export const INITIAL_STEP = 'running';

/** A recording started with {@link EnergyRecorder.beginRecording}; call `end()` exactly once when it is over. */
export interface RecordingHandle {
  readonly scenario: string;
  /** Whether the start reached the API (false when it is down or refused it). */
  readonly recorded: boolean;
  /** Restores what ran before (or stops); never rejects. Later calls return the first result. */
  end(): Promise<boolean>;
}

/** Options of {@link EnergyRecorder.report}. */
export interface ReportOptions {
  /** Scenario whose latest session is reported. Default: the last one this recorder started, else the latest. */
  scenario?: string;
  /** Report the session that started at this instant (ns). */
  startNs?: number;
  /** Sensor integrated into energy (the API's default is `power`). */
  sensor?: string;
  /**
   * How long to wait, in ms, for the collectors' last samples to land: the report is fetched again until every
   * equipment reaches `minCoveragePct` or this time has passed. Default 5000; 0 fetches once.
   */
  waitMs?: number;
  /** Coverage every equipment must reach before waiting stops. Default 95. */
  minCoveragePct?: number;
  /** Pause between two fetches while waiting. Default 500 ms. */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Which recording the code running now belongs to, so `setStep` inside it changes that recording's step. One
 * instance per process, shared by every bundled copy of the SDK (see `sdkShared`).
 */
const currentRecording: AsyncLocalStorage<ActiveRecording> = sdkShared().currentRecording;

type Outcome<T> = { ok: true; value: T } | { ok: false; status?: number };

/**
 * Client of the recording API for test code: marks which scenario and step run on an environment.
 *
 * Nothing here throws into the caller's test: failures are logged through `logger` and methods answer
 * `false`/`null`. The API is probed lazily on first use (`GET <api>/monitoring/ping`); when it is unreachable
 * the recorder stays silent for `retryAfterMs` and probes again afterwards, and during that time every call
 * costs one clock comparison. The outage is also written to a small file in the temp dir, read once before each
 * probe, so the other test files and workers of the run skip the probe too. Calls that change the environment's state go through one queue per
 * (API, environment) in this process, so they reach the API in call order.
 */
export class EnergyRecorder {
  /** Environment (POD) name. */
  readonly environment: string;
  /** Base URL of the API (the `/resources` root). */
  readonly apiUrl: string;
  /** Why this recorder does nothing at all, or undefined when it is configured. */
  readonly disabledReason: string | undefined;
  private readonly options: ResolvedRecorderOptions;
  private readonly log: Logger;
  private readonly state: EnvState;
  private readonly uri: string;
  private lastScenario: string | undefined;
  /** Whether a back-off noted by other test files and workers (the temp-dir file) is honoured. */
  private readonly shareAvailability: boolean;

  /** @throws SdkError `ER_SDK_CONFIG` listing every invalid option. */
  constructor(
    options: RecorderOptions,
    internal: { disabledReason?: string; names?: Partial<Record<keyof RecorderOptions, string>>; shareAvailability?: boolean } = {},
  ) {
    this.disabledReason = internal.disabledReason;
    this.shareAvailability = internal.shareAvailability ?? true;
    this.options =
      internal.disabledReason === undefined
        ? resolveRecorderOptions(options, internal.names)
        : { environment: '', apiUrl: '', authorization: undefined, timeoutMs: 1, retryAfterMs: 0, waitMs: 0, logger: options.logger };
    this.environment = this.options.environment;
    this.apiUrl = this.options.apiUrl;
    this.log = guardedLogger(this.options.logger ?? silentLogger).child({ component: 'energyrecorder-sdk', environment: this.environment });
    this.state = envState(this.apiUrl, this.environment);
    this.uri = `${this.apiUrl}/recorders/environment/${quoteSegment(this.environment)}`;
  }

  /**
   * Builds a recorder from `NODE_NAME`, `ENERGY_RECORDER_API_URL`, `ENERGY_RECORDER_API_USER`,
   * `ENERGY_RECORDER_API_PASSWORD` (plus `ENERGY_RECORDER_TIMEOUT_MS`, `ENERGY_RECORDER_RETRY_AFTER_MS`,
   * `ENERGY_RECORDER_WAIT_MS`).
   * @throws SdkError `ER_SDK_CONFIG` naming each bad variable, e.g. when `NODE_NAME` is unset.
   */
  static fromEnv(env: Record<string, string | undefined> = process.env, overrides: Partial<RecorderOptions> = {}): EnergyRecorder {
    return EnergyRecorder.fromEnvInternal(env, overrides, true);
  }

  /** @internal `fromEnv` for the CLI, whose commands each probe for themselves (`shareAvailability: false`). */
  static fromEnvInternal(env: Record<string, string | undefined>, overrides: Partial<RecorderOptions>, shareAvailability: boolean): EnergyRecorder {
    const names: Partial<Record<keyof RecorderOptions, string>> = {};
    for (const [key, variable] of Object.entries(ENV_VARS)) {
      if (!(key in overrides)) names[key as keyof RecorderOptions] = variable;
    }
    return new EnergyRecorder(optionsFromEnv(env, overrides), { names, shareAvailability });
  }

  /** A recorder that does nothing (every call is a no-op), e.g. when the configuration is missing. */
  static disabled(reason: string, logger?: Logger): EnergyRecorder {
    const options: RecorderOptions = { environment: '' };
    if (logger !== undefined) options.logger = logger;
    return new EnergyRecorder(options, { disabledReason: reason });
  }

  /**
   * Synchronous view of availability: true (answered lately), false (off until the back-off ends or disabled),
   * undefined (not probed yet, or the back-off ended and the next call will probe).
   */
  get available(): boolean | undefined {
    if (this.disabledReason !== undefined) return false;
    const a = this.state.availability;
    if (a.kind === 'up') return true;
    if (a.kind === 'down' && Date.now() < a.untilMs) return false;
    return undefined;
  }

  /** The cheap check made before anything else: true while disabled or inside the back-off period. */
  private skipNow(): boolean {
    return this.available === false;
  }

  /** Probes `GET <api>/monitoring/ping` now (ignoring the back-off) and answers whether the API is usable. */
  async ping(): Promise<boolean> {
    if (this.disabledReason !== undefined) return false;
    return this.probe(false);
  }

  /** Starts `scenario` at step `running` (no save/restore; see {@link recording} for that). */
  start(scenario: string): Promise<boolean> {
    return this.submitScenario(scenario, INITIAL_STEP);
  }

  /** Declares that `scenario` runs at `step` on the environment (`POST <api>/recorders/environment/<env>`). */
  submitScenario(scenario: string, step: string): Promise<boolean> {
    if (this.skipNow()) return Promise.resolve(false);
    return this.queued(async () => (await this.ensureAvailable()) && this.rawSubmit(scenario, step), false);
  }

  /** Ends whatever runs on the environment (`DELETE <api>/recorders/environment/<env>`). */
  stop(): Promise<boolean> {
    if (this.skipNow()) return Promise.resolve(false);
    return this.queued(async () => (await this.ensureAvailable()) && this.rawStop(), false);
  }

  /**
   * Sets the step (`POST <api>/recorders/environment/<env>/step`). Inside a {@link recording} the step belongs to
   * that recording: if a later concurrent recording is the one shown by the API, the step is remembered and
   * sent when this recording is shown again.
   */
  setStep(step: string): Promise<boolean> {
    if (this.skipNow()) return Promise.resolve(false);
    const context = currentRecording.getStore();
    return this.queued(async () => {
      const stack = this.state.stack;
      // A step of a recording whose start did not reach the API (or was refused) belongs to nothing on the
      // server: sending it would change the step of whatever runs there (an outer job's scenario).
      if (context?.status === 'skipped') {
        this.log.debug({ step, scenario: context.scenario }, 'step of a recording that was not recorded: not sent');
        return false;
      }
      const target = context !== undefined && stack.includes(context) ? context : stack.at(-1);
      if (target !== undefined) {
        target.step = step;
        if (target !== stack.at(-1)) return true;
      }
      return (await this.ensureAvailable()) && this.rawStep(step);
    }, false);
  }

  /** What runs on the environment now, or null when nothing runs, the API is down or it failed. */
  async getCurrentScenario(): Promise<RunningScenario | null> {
    if (this.skipNow() || !(await this.ensureAvailable())) return null;
    const outcome = await this.fetchCurrent();
    return outcome.ok ? outcome.value : null;
  }

  /**
   * @internal What runs on the environment, telling "nothing runs" (`{ok: true, value: null}`) apart from a
   * failed lookup (`{ok: false}`, with the HTTP status when the API answered). Used by the CLI's `status`.
   */
  async lookupCurrentScenario(): Promise<{ ok: true; value: RunningScenario | null } | { ok: false; status?: number }> {
    if (this.skipNow() || !(await this.ensureAvailable())) return { ok: false };
    return this.fetchCurrent();
  }

  /** Stored sessions of the environment, newest first, or null on failure. */
  async sessions(options: { limit?: number; signal?: AbortSignal } = {}): Promise<SessionsResponse | null> {
    if (this.skipNow() || !(await this.ensureAvailable())) return null;
    const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
    const outcome = await this.get(`${this.uri}/sessions${query}`, parseSessions, options.signal);
    return outcome.ok ? outcome.value : null;
  }

  /**
   * Energy per step and per equipment of a session (the API's report endpoint), waiting a bounded time for the
   * collectors' last samples. Null when there is no such session, the API is down or it failed.
   */
  async report(options: ReportOptions = {}): Promise<EnergyReport | null> {
    if (this.skipNow() || !(await this.ensureAvailable())) return null;
    const query = this.reportQuery(options);
    const deadline = Date.now() + (options.waitMs ?? 5000);
    const minCoverage = options.minCoveragePct ?? 95;
    let latest: EnergyReport | null = null;
    for (;;) {
      const outcome = await this.get(`${this.uri}/report${query}`, parseReport, options.signal);
      if (outcome.ok) latest = outcome.value;
      else if (outcome.status !== 404) return latest;
      const settled =
        latest !== null &&
        !latest.running &&
        latest.equipments.length > 0 &&
        latest.equipments.every((e) => e.coveragePct >= minCoverage);
      if (settled || Date.now() >= deadline || options.signal?.aborted === true) return latest;
      try {
        await sleep(Math.min(options.pollIntervalMs ?? 500, Math.max(0, deadline - Date.now())), undefined, {
          signal: options.signal,
        });
      } catch {
        return latest;
      }
    }
  }

  /**
   * The same report as CSV, rendered by the API (`format=csv`), or null when there is none. It waits for the
   * collectors' last samples as {@link report} does (`waitMs`, `minCoveragePct`), then fetches the CSV once.
   */
  async reportCsv(options: ReportOptions = {}): Promise<string | null> {
    if (this.skipNow() || !(await this.ensureAvailable())) return null;
    // The JSON report says when coverage is reached; the CSV is the same figures rendered by the API.
    if ((options.waitMs ?? 5000) > 0) await this.report(options);
    const req = this.request('GET', `${this.uri}/report${this.reportQuery(options, { format: 'csv' })}`, { accept: 'text/csv' });
    if (options.signal !== undefined) req.signal = options.signal;
    try {
      const answer = await httpCall(req);
      if (answer.status === 200) return answer.text;
      this.log.info({ status: answer.status, body: clip(answer.text) }, 'no CSV report');
      return null;
    } catch (err) {
      this.noteFailure(err, { action: 'report' });
      return null;
    }
  }

  private reportQuery(options: Pick<ReportOptions, 'scenario' | 'startNs' | 'sensor'>, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams();
    const scenario = options.scenario ?? (options.startNs === undefined ? this.lastScenario : undefined);
    if (scenario !== undefined) params.set('scenario', scenario);
    if (options.startNs !== undefined) params.set('start', String(options.startNs));
    if (options.sensor !== undefined) params.set('sensor', options.sensor);
    for (const [k, v] of Object.entries(extra)) params.set(k, v);
    return params.size === 0 ? '' : `?${params.toString()}`;
  }

  /**
   * Starts a recording of `scenario` (step `running`), remembering what ran before so {@link RecordingHandle.end}
   * can restore it. Prefer {@link recording}, which also scopes `setStep` calls.
   */
  async beginRecording(scenario: string): Promise<RecordingHandle> {
    const open = this.open(scenario);
    const recorded = open === undefined ? false : await open.ready;
    return { scenario, recorded, end: open === undefined ? () => Promise.resolve(false) : open.end };
  }

  /**
   * Runs `fn` as scenario `scenario`: saves the environment's current session, starts `scenario` with step
   * `running`, runs `fn`, then, on success and on failure, restores the saved scenario and step (or stops if
   * there was none). Returns what `fn` returns and rethrows what it throws; recording failures are only logged.
   * Each marker is awaited at most `waitMs`; one still pending then is sent later, in order.
   */
  async recording<T>(scenario: string, fn: () => T | Promise<T>): Promise<T> {
    if (this.skipNow()) return fn();
    const open = this.open(scenario);
    if (open === undefined) return fn();
    await this.bounded(open.ready, 'start', open.entry);
    try {
      return await currentRecording.run(open.entry, fn);
    } finally {
      await this.bounded(open.end(), 'end', open.entry);
    }
  }

  /** Alias of {@link recording}. */
  run<T>(scenario: string, fn: () => T | Promise<T>): Promise<T> {
    return this.recording(scenario, fn);
  }

  /**
   * For synchronous code: runs `fn` at once; the start and restore calls are queued in order around it and sent
   * in the background. A native `Promise` result is followed: a promise derived with `finally`, settling as it
   * does, is returned and the recording ends when it settles. Any other result, thenables included, is
   * returned unchanged and the recording ends at once.
   */
  recordingSync<T>(scenario: string, fn: () => T): T {
    if (this.skipNow()) return fn();
    const open = this.open(scenario);
    if (open === undefined) return fn();
    let result: T;
    try {
      result = currentRecording.run(open.entry, fn);
    } catch (err) {
      void open.end();
      throw err;
    }
    // Only native promises are followed. Calling `then` on any other thenable may run it (a Knex or Mongoose
    // query executes on each `then`), so such values are returned untouched and the recording ends now. The
    // caller gets a derived promise: it settles as the original does without waiting for the end marker, and
    // a rejection nobody handles still surfaces as an unhandled rejection.
    if (result instanceof Promise) {
      return result.finally(() => {
        void open.end();
      }) as T;
    }
    void open.end();
    return result;
  }

  /**
   * For generator functions: the recording spans the iteration, not the call that only creates the generator.
   * It starts at the first `next()` (markers queued and sent in the background, as {@link recordingSync}) and
   * ends when the generator completes, is closed by `return()` (a `break` out of `for...of`) or throws. A
   * generator that is never finished nor closed never ends its recording.
   */
  *recordingGenerator<Y, R, N>(scenario: string, fn: () => Generator<Y, R, N>): Generator<Y, R, N> {
    if (this.skipNow()) return yield* fn();
    const open = this.open(scenario);
    if (open === undefined) return yield* fn();
    try {
      return yield* scopedIterable(currentRecording.run(open.entry, fn), open.entry);
    } finally {
      void open.end();
    }
  }

  /**
   * For async generator functions: as {@link recordingGenerator}, but the start marker is awaited before the
   * body runs and the end marker when the iteration is over, as {@link recording} does.
   */
  async *recordingAsyncGenerator<Y, R, N>(scenario: string, fn: () => AsyncGenerator<Y, R, N>): AsyncGenerator<Y, R, N> {
    if (this.skipNow()) return yield* fn();
    const open = this.open(scenario);
    if (open === undefined) return yield* fn();
    await this.bounded(open.ready, 'start', open.entry);
    try {
      return yield* scopedAsyncIterable(currentRecording.run(open.entry, fn), open.entry);
    } finally {
      await this.bounded(open.end(), 'end', open.entry);
    }
  }

  /** Resolves once every call queued so far has been sent (e.g. the background markers of sync methods). */
  async flush(): Promise<void> {
    await enqueue(this.state, () => Promise.resolve());
  }

  /** Sets the step; with `fn`, then runs it (after at most `waitMs` for the step marker) and returns its result. */
  step(name: string): Promise<boolean>;
  step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  async step<T>(name: string, fn?: () => T | Promise<T>): Promise<T | boolean> {
    const context = currentRecording.getStore();
    const sent = this.setStep(name);
    if (fn === undefined) return sent;
    await this.bounded(sent, 'step', context);
    return fn();
  }

  /**
   * Waits for a marker, so a slow or hanging API (answering only at `timeoutMs`) cannot hold the test body long
   * enough to fail it on its runner's timeout. Each marker is awaited at most `waitMs`, but once a marker of a
   * recording went unanswered for that long, its later markers (steps, end) are not awaited at all: a hanging
   * API delays a recording by about `waitMs` in total. While the API answers in time, every marker gets its full
   * `waitMs`. The marker is not cancelled: it stays in the queue and reaches the API in order; until it does,
   * the body is tagged with what ran before.
   */
  private async bounded(marker: Promise<unknown>, what: string, entry?: ActiveRecording): Promise<void> {
    const recording = entry !== undefined && entry.status !== 'ended' ? entry : undefined;
    const waitMs = recording?.gaveUp === true ? 0 : this.options.waitMs;
    if (waitMs === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), waitMs);
    });
    try {
      if (await Promise.race([marker.then(() => false), gaveUp])) {
        if (recording !== undefined) recording.gaveUp = true;
        this.log.debug({ marker: what, waitMs }, 'marker still pending; going on, it is sent in the background');
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private open(scenario: string): { entry: ActiveRecording; ready: Promise<boolean>; end: () => Promise<boolean> } | undefined {
    if (this.disabledReason !== undefined) return undefined;
    this.lastScenario = scenario;
    const entry: ActiveRecording = { scenario, step: INITIAL_STEP, status: 'pending', gaveUp: false };
    const ready = this.queued(() => this.beginOp(entry), false);
    let ended: Promise<boolean> | undefined;
    const end = (): Promise<boolean> => {
      ended ??= this.queued(() => this.endOp(entry), false);
      return ended;
    };
    return { entry, ready, end };
  }

  private async beginOp(entry: ActiveRecording): Promise<boolean> {
    if (!(await this.ensureAvailable())) {
      entry.status = 'skipped';
      return false;
    }
    const stack = this.state.stack;
    const outermost = stack.length === 0;
    if (outermost) {
      const current = await this.fetchCurrent();
      if (!current.ok && current.status === undefined) {
        entry.status = 'skipped';
        return false;
      }
      // A failed lookup (not a 404) leaves the outer session unknown; as the original, we then stop at the end.
      this.state.outer = current.ok ? current.value : null;
    }
    stack.push(entry);
    this.log.debug({ scenario: entry.scenario, depth: stack.length }, 'recording starts');
    if (!(await this.rawSubmit(entry.scenario, entry.step))) {
      // Refused (a name the API does not take) or unreachable: the environment still shows what ran before, so
      // this recording changes nothing more: its steps are not sent and its end restores nothing.
      stack.splice(stack.indexOf(entry), 1);
      if (outermost) this.state.outer = null;
      entry.status = 'skipped';
      this.log.info({ scenario: entry.scenario }, 'recording not started; its steps and end are not sent');
      return false;
    }
    entry.status = 'live';
    if (outermost) this.state.sharedId = shareRecordingStart(this.apiUrl, this.environment, entry.scenario, this.state.outer);
    return true;
  }

  private async endOp(entry: ActiveRecording): Promise<boolean> {
    const wasLive = entry.status === 'live';
    if (entry.status !== 'skipped') entry.status = 'ended';
    if (!wasLive) return false;
    const stack = this.state.stack;
    const index = stack.indexOf(entry);
    if (index < 0) return false;
    const wasShown = index === stack.length - 1;
    stack.splice(index, 1);
    // A recording that ends while a later one is shown changes nothing on the server; the later one will
    // restore past it.
    if (!wasShown) return true;
    const next = stack.at(-1);
    let outer: { scenario: string; step: string } | null = stack.length === 0 ? this.state.outer : null;
    const sharedId = stack.length === 0 ? this.state.sharedId : undefined;
    if (stack.length === 0) {
      this.state.outer = null;
      this.state.sharedId = undefined;
    }
    try {
      if (!(await this.ensureAvailable())) return false;
      // Another process (a parallel test worker, the CLI) may have started its own scenario since: that one is
      // left alone, it restores past this recording when it ends.
      const current = await this.fetchCurrent();
      if (!current.ok && current.status === undefined) return false;
      if (current.ok && current.value?.scenario !== entry.scenario) {
        this.log.info(
          { scenario: entry.scenario, running: current.value?.scenario ?? null },
          'another scenario runs on the environment now; leaving it as it is',
        );
        return true;
      }
      if (next !== undefined) {
        this.log.debug({ scenario: next.scenario, step: next.step }, 'restoring enclosing recording');
        return await this.rawSubmit(next.scenario, next.step);
      }
      // What ran before may be a recording of another test file or worker that has ended meanwhile: then what
      // ran before that one is restored instead.
      if (sharedId !== undefined) outer = sharedOuterToRestore(this.apiUrl, this.environment, sharedId, outer);
      if (outer !== null) {
        this.log.debug({ scenario: outer.scenario, step: outer.step }, 'restoring previous scenario');
        return await this.rawSubmit(outer.scenario, outer.step);
      }
      return await this.rawStop();
    } finally {
      if (sharedId !== undefined) shareRecordingEnd(this.apiUrl, this.environment, sharedId);
    }
  }

  /** Runs `op` in the environment's queue; never rejects. */
  private queued<T>(op: () => Promise<T>, fallback: T): Promise<T> {
    return enqueue(this.state, op).catch((err: unknown) => {
      this.log.error({ err }, 'unexpected SDK failure');
      return fallback;
    });
  }

  /** The known availability, or a probe when it is unknown or the back-off has ended. */
  private ensureAvailable(): Promise<boolean> {
    const known = this.available;
    return known === undefined ? this.probe(this.shareAvailability) : Promise.resolve(known);
  }

  /** With `shared`, a back-off noted by another test file or worker of the run (one file read) is honoured. */
  private probe(shared: boolean): Promise<boolean> {
    if (this.state.probe !== undefined) return this.state.probe;
    // Cleared once settled, by a handler attached after the assignment: the probe may settle without waiting
    // for anything (a shared back-off), and clearing it from inside would run before it is stored.
    const probe: Promise<boolean> = this.runProbe(shared).finally(() => {
      if (this.state.probe === probe) this.state.probe = undefined;
    });
    this.state.probe = probe;
    return probe;
  }

  private async runProbe(shared: boolean): Promise<boolean> {
    try {
      const downUntil = shared ? sharedDownUntil(this.apiUrl) : undefined;
      if (downUntil !== undefined) {
        this.state.availability = { kind: 'down', untilMs: downUntil };
        this.log.info({ apiUrl: this.apiUrl, downUntil: new Date(downUntil).toISOString() }, 'recording API found unavailable by another test file or worker; recording is off until then');
        return false;
      }
      const answer = await httpCall(this.request('GET', `${this.apiUrl}/monitoring/ping`, { jsonHeader: true }));
      const body = parseJson(answer.text);
      // As the original: only the body's status counts, not the HTTP status.
      if (isRecord(body) && body['status'] === 'OK') {
        if (this.state.availability.kind === 'down') {
          this.log.info({ apiUrl: this.apiUrl }, 'recording API available again');
          shareUp(this.apiUrl);
        }
        this.state.availability = { kind: 'up' };
        return true;
      }
      this.markDown(`ping answered ${answer.status}: ${clip(answer.text)}`);
      return false;
    } catch (err) {
      this.markDown(err instanceof Error ? err.message : String(err));
      return false;
    }
  }

  private markDown(reason: string): void {
    const wasDown = this.state.availability.kind === 'down';
    this.state.availability = { kind: 'down', untilMs: Date.now() + this.options.retryAfterMs };
    if (this.options.retryAfterMs > 0) shareDown(this.apiUrl, this.state.availability.untilMs);
    const fields = { apiUrl: this.apiUrl, reason, retryAfterMs: this.options.retryAfterMs };
    if (wasDown) this.log.info(fields, 'recording API still unavailable');
    else this.log.warn(fields, 'recording API unavailable; recording is off until the next probe');
  }

  private request(method: HttpRequest['method'], url: string, extra: Partial<HttpRequest> = {}): HttpRequest {
    return { method, url, authorization: this.options.authorization, timeoutMs: this.options.timeoutMs, ...extra };
  }

  /** Sends a state change; true iff the API answered 200. */
  private async send(req: HttpRequest, what: Record<string, unknown>): Promise<boolean> {
    try {
      const answer = await httpCall(req);
      if (answer.status === 200) return true;
      this.log.error({ ...what, status: answer.status, body: clip(answer.text) }, `${req.method} refused by the recording API`);
      return false;
    } catch (err) {
      this.noteFailure(err, what);
      return false;
    }
  }

  private noteFailure(err: unknown, what: Record<string, unknown>): void {
    // The caller gave up on this call; the API may be perfectly healthy, so recording stays on.
    if (err instanceof SdkError && err.code === 'ER_SDK_ABORTED') {
      this.log.debug({ ...what, reason: err.message }, 'recording API call aborted by the caller');
      return;
    }
    if (err instanceof SdkError && (err.code === 'ER_SDK_NETWORK' || err.code === 'ER_SDK_TIMEOUT')) {
      this.markDown(err.message);
    } else {
      this.log.error({ ...what, err }, 'recording API call failed');
    }
  }

  private rawSubmit(scenario: string, step: string): Promise<boolean> {
    return this.send(this.request('POST', this.uri, { body: { step, scenario } }), { scenario, step });
  }

  private rawStop(): Promise<boolean> {
    return this.send(this.request('DELETE', this.uri, { jsonHeader: true }), { action: 'stop' });
  }

  private rawStep(step: string): Promise<boolean> {
    return this.send(this.request('POST', `${this.uri}/step`, { body: { step } }), { step });
  }

  private async fetchCurrent(): Promise<Outcome<RunningScenario | null>> {
    const outcome = await this.get(this.uri, parseRunningScenario);
    return !outcome.ok && outcome.status === 404 ? { ok: true, value: null } : outcome;
  }

  /** GET + parse; a non-200 answer is a failure carrying its status (none for network failures). */
  private async get<T>(url: string, parse: (value: unknown) => T, signal?: AbortSignal): Promise<Outcome<T>> {
    try {
      const req = this.request('GET', url);
      if (signal !== undefined) req.signal = signal;
      const answer = await httpCall(req);
      if (answer.status === 404) {
        this.log.info({ url }, 'nothing found');
        return { ok: false, status: 404 };
      }
      if (answer.status !== 200) {
        this.log.error({ url, status: answer.status, body: clip(answer.text) }, 'GET refused by the recording API');
        return { ok: false, status: answer.status };
      }
      return { ok: true, value: parse(parseJson(answer.text)) };
    } catch (err) {
      this.noteFailure(err, { url });
      return { ok: false, status: err instanceof SdkError && err.code === 'ER_SDK_RESPONSE' ? 200 : undefined };
    }
  }
}

/**
 * `inner` with every resumption run in `entry`'s async context, so that `setStep` in a generator's body targets
 * its own recording whoever iterates it. `yield*` over this object keeps the semantics of `next`, `throw` and
 * `return` (including a `finally` in the body that yields again).
 */
function scopedIterable<Y, R, N>(inner: Generator<Y, R, N>, entry: ActiveRecording): Iterable<Y, R, N> {
  const iterator: Iterator<Y, R, N> = {
    next: (...args: [] | [N]) => currentRecording.run(entry, () => inner.next(...args)),
    return: (value?: R) => currentRecording.run(entry, () => inner.return(value as R)),
    throw: (err?: unknown) => currentRecording.run(entry, () => inner.throw(err)),
  };
  return { [Symbol.iterator]: () => iterator };
}

/** {@link scopedIterable} for async generators. */
function scopedAsyncIterable<Y, R, N>(inner: AsyncGenerator<Y, R, N>, entry: ActiveRecording): AsyncIterable<Y, R, N> {
  const iterator: AsyncIterator<Y, R, N> = {
    next: (...args: [] | [N]) => currentRecording.run(entry, () => inner.next(...args)),
    return: (value?: R | PromiseLike<R>) => currentRecording.run(entry, () => inner.return(value as R)),
    throw: (err?: unknown) => currentRecording.run(entry, () => inner.throw(err)),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
