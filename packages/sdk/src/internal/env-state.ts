import type { RunningScenario } from '../report.js';

/** One recording in progress in this process. */
export interface ActiveRecording {
  scenario: string;
  /** Latest step set inside it; restored when it becomes the innermost recording again. */
  step: string;
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
  availability: Availability;
  /** The probe in flight, shared by concurrent callers. */
  probe: Promise<boolean> | undefined;
}

const states = new Map<string, EnvState>();

/** The shared state for (apiUrl, environment), created on first use. */
export function envState(apiUrl: string, environment: string): EnvState {
  const key = `${apiUrl}\u0000${environment}`;
  let state = states.get(key);
  if (state === undefined) {
    state = { tail: Promise.resolve(), stack: [], outer: null, availability: { kind: 'unknown' }, probe: undefined };
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
