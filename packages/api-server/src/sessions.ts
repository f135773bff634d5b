import type { SessionSummary } from '@energyrecorder/core';
import type { ScenarioEvent } from './store.js';

/**
 * Rebuilds sessions from the event log (oldest first). A start of the scenario already running is a step change
 * of the same session (the SDK re-submits the scenario that way); a start of another scenario ends the running
 * one, as the original silently overwrote it; a stop ends it. Returned oldest first.
 */
export function deriveSessions(events: readonly ScenarioEvent[]): SessionSummary[] {
  const out: SessionSummary[] = [];
  let current: SessionSummary | undefined;
  const close = (atNs: number): void => {
    if (current === undefined) return;
    current.endNs = atNs;
    current.running = false;
    const last = current.steps[current.steps.length - 1];
    if (last !== undefined && last.endNs === null) last.endNs = atNs;
    current = undefined;
  };
  for (const e of events) {
    if (!e.started) {
      close(e.timeNs);
      continue;
    }
    if (current !== undefined && current.scenario === e.scenario) {
      const last = current.steps[current.steps.length - 1];
      if (last === undefined || last.step !== e.step) {
        if (last !== undefined) last.endNs = e.timeNs;
        current.steps.push({ step: e.step, startNs: e.timeNs, endNs: null });
      }
      continue;
    }
    close(e.timeNs);
    current = { scenario: e.scenario, startNs: e.timeNs, endNs: null, running: true, steps: [{ step: e.step, startNs: e.timeNs, endNs: null }] };
    out.push(current);
  }
  return out;
}
