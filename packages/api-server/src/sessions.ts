import type { SessionSummary } from '@energyrecorder/core';

/** Options of {@link deriveSessions}. */
export interface SessionOptions {
  /**
   * Most sessions kept suspended under the running one. Past it the oldest suspended one is taken as overwritten
   * (it ends where the one above it began), so a log of starts that are never stopped nor restored costs a bounded
   * stack rather than one entry per start.
   */
  maxDepth?: number;
}

/** Defaults of {@link SessionOptions}. */
export const DEFAULT_SESSION_OPTIONS = Object.freeze({ maxDepth: 32 });

/** One scenario event as {@link applySessionEvent} reads it; `Ns` is how the caller keeps times (the dashboard: text). */
export interface SessionEvent<Ns> {
  scenario: string;
  step: string;
  /** `true` for a start or step change, `false` for a stop. */
  started: boolean;
  timeNs: Ns;
}

/** The session `scenario` started at `timeNs`. */
function open<Ns>(e: SessionEvent<Ns>, below: SessionSummary<Ns> | undefined): SessionSummary<Ns> {
  const s: SessionSummary<Ns> = { scenario: e.scenario, startNs: e.timeNs, endNs: null, running: true, steps: [{ step: e.step, startNs: e.timeNs, endNs: null }] };
  if (below !== undefined) s.parent = { scenario: below.scenario, startNs: below.startNs };
  return s;
}

function end<Ns>(s: SessionSummary<Ns>, atNs: Ns): void {
  s.endNs = atNs;
  s.running = false;
  const last = s.steps[s.steps.length - 1];
  if (last !== undefined && last.endNs === null) last.endNs = atNs;
}

/** A start of the scenario `s` runs: a step change when the step differs (the SDK re-submits the scenario that way). */
function resubmitted<Ns>(s: SessionSummary<Ns>, e: SessionEvent<Ns>): void {
  const last = s.steps[s.steps.length - 1];
  if (last !== undefined && last.step === e.step) return;
  if (last !== undefined) last.endNs = e.timeNs;
  s.steps.push({ step: e.step, startNs: e.timeNs, endNs: null });
}

/** `stack[i]` was not restored: it ends where the session above it began, which did not run inside it. */
function overwritten<Ns>(stack: readonly SessionSummary<Ns>[], i: number): void {
  const lower = stack[i] as SessionSummary<Ns>;
  const upper = stack[i + 1] as SessionSummary<Ns>;
  end(lower, upper.startNs);
  delete upper.parent;
}

/**
 * Applies one event to `stack`, the running sessions bottom first (the top is the one the API shows), by the rule
 * of {@link deriveSessions}; returns the session it opened, if any. The dashboard applies live events to the list
 * it fetched with it, so both read the log the same way.
 */
export function applySessionEvent<Ns>(stack: SessionSummary<Ns>[], e: SessionEvent<Ns>, maxDepth = Number.POSITIVE_INFINITY): SessionSummary<Ns> | undefined {
  if (!e.started) {
    for (let i = stack.length - 2; i >= 0; i--) overwritten(stack, i);
    const top = stack.pop();
    if (top !== undefined) end(top, e.timeNs);
    stack.length = 0;
    return undefined;
  }
  const at = stack.findLastIndex((s) => s.scenario === e.scenario);
  if (at >= 0) {
    for (let i = stack.length - 1; i > at; i--) end(stack[i] as SessionSummary<Ns>, e.timeNs);
    stack.length = at + 1;
    resubmitted(stack[at] as SessionSummary<Ns>, e);
    return undefined;
  }
  const s = open(e, stack[stack.length - 1]);
  stack.push(s);
  if (stack.length > maxDepth) {
    overwritten(stack, 0);
    stack.shift();
  }
  return s;
}

/**
 * Rebuilds sessions from the event log (oldest first), reading nested recordings as the SDKs make them: the API
 * keeps one running scenario per environment, and a recording started inside another re-submits the outer one
 * when it ends (seed-behaviour §4.4). So the log is read as a stack whose top is what the API shows:
 * - a start of the top's scenario is a step change of it (when the step differs);
 * - a start of a scenario suspended lower in the stack is the restore: every session above it ends then, nested in
 *   the one below it, and it resumes as the same session (the re-submitted step is a step change if it differs);
 * - a start of any other scenario opens a session on top; the one below is suspended, provisionally its parent;
 * - a stop ends the top then. Nothing restored the sessions suspended below it, so each was overwritten, as the
 *   original did, and ends where the session above it began (their provisional nesting is dropped).
 * A session is confirmed as nested only by a restore, which pops it: every session below the top is suspended and
 * unconfirmed. Returned in start order.
 */
export function deriveSessions(events: readonly SessionEvent<number>[], options: SessionOptions = {}): SessionSummary[] {
  const maxDepth = Math.max(1, options.maxDepth ?? DEFAULT_SESSION_OPTIONS.maxDepth);
  const out: SessionSummary[] = [];
  // Bottom first. Scenarios in it are distinct (a start of one in it is a step change or a restore).
  const stack: SessionSummary[] = [];
  for (const e of events) {
    const opened = applySessionEvent(stack, e, maxDepth);
    if (opened !== undefined) out.push(opened);
  }
  return out;
}
