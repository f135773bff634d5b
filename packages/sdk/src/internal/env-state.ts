import { AsyncLocalStorage } from 'node:async_hooks';
import type { RunningScenario } from '../report.js';

/** One recording in progress in this process. */
export interface ActiveRecording {
  scenario: string;
  /** Latest step set inside it; restored when it becomes the innermost recording again. */
  step: string;
  /**
   * `pending` until its start marker was handled, `live` once the API took it, `skipped` when the start did not
   * reach the API or was refused (its steps and end are then not sent), `ended` once its end was handled.
   */
  status: 'pending' | 'live' | 'skipped' | 'ended';
  /** Whether a marker of it was not answered within `waitMs`: its later markers are then not waited for. */
  gaveUp: boolean;
}

/** Whether the API answered lately. */
export type Availability =
  | { kind: 'unknown' }
  | { kind: 'up' }
  | { kind: 'down'; untilMs: number };

/**
 * What one process knows about one environment on one API. Shared by every recorder instance pointing at the
 * same pair, so two instances cannot interleave their session markers.
 */
export interface EnvState {
  /** Tail of the serial queue every state-changing call goes through, in call order. */
  tail: Promise<unknown>;
  /** Recordings started and not finished, outermost first. The server shows the last one. */
  stack: ActiveRecording[];
  /** What ran on the environment before the first recording of the stack started (another process, the CLI). */
  outer: RunningScenario | null;
  /** Id of the outermost recording of the stack in the shared recordings file (see `shareRecordingStart`). */
  sharedId: string | undefined;
  availability: Availability;
  /** The probe in flight, shared by concurrent callers. */
  probe: Promise<boolean> | undefined;
}

/** Everything the SDK keeps process-wide. */
export interface SdkShared {
  readonly version: 1;
  /** The recorder of {@link getDefaultRecorder} (typed loosely here to avoid an import cycle). */
  defaultRecorder: unknown;
  readonly states: Map<string, EnvState>;
  /** Which recording the code running now belongs to. */
  readonly currentRecording: AsyncLocalStorage<ActiveRecording>;
}

const SHARED_KEY = Symbol.for('@energyrecorder/sdk/state');

/**
 * The SDK's process-wide state. It lives on `globalThis` under a registered symbol, not in module variables, so
 * every bundled copy of the SDK in the process (the CommonJS entries `index.cjs`, `jest.cjs` and `mocha.cjs` each
 * hold one, the ESM entries another) shares one default recorder, one queue per environment and one
 * `AsyncLocalStorage`.
 */
export function sdkShared(): SdkShared {
  const g = globalThis as Record<symbol, unknown>;
  const existing = g[SHARED_KEY] as SdkShared | undefined;
  if (existing !== undefined && existing.version === 1) return existing;
  const created: SdkShared = { version: 1, defaultRecorder: undefined, states: new Map(), currentRecording: new AsyncLocalStorage() };
  Object.defineProperty(g, SHARED_KEY, { value: created, configurable: true, writable: true, enumerable: false });
  return created;
}

/** The shared state for (apiUrl, environment), created on first use. */
export function envState(apiUrl: string, environment: string): EnvState {
  const states = sdkShared().states;
  const key = `${apiUrl}\u0000${environment}`;
  let state = states.get(key);
  if (state === undefined) {
    state = { tail: Promise.resolve(), stack: [], outer: null, sharedId: undefined, availability: { kind: 'unknown' }, probe: undefined };
    states.set(key, state);
  }
  return state;
}

/** Runs `op` after everything queued before it, whatever those operations did. */
export function enqueue<T>(state: EnvState, op: () => Promise<T>): Promise<T> {
  const run = state.tail.then(op, op);
  state.tail = run.catch(() => undefined);
  return run;
}
