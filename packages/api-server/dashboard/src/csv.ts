import type { SessionSummary } from './types.js';

/**
 * Quotes a CSV cell when needed (RFC 4180), and defuses spreadsheet formulas in names. The report's CSV is not
 * built here: the page downloads the API's own `format=csv` of the shown session.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Live samples as CSV: `time_ns,equipment,power_w`, in the order given. */
export function samplesToCsv(rows: ReadonlyArray<{ timeS: number; equipment: string; watts: number }>): string {
  const lines = ['time_ns,equipment,power_w'];
  for (const r of rows) {
    lines.push([BigInt(Math.round(r.timeS * 1e9)).toString(), csvCell(r.equipment), csvCell(r.watts)].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Header of the sessions CSV. */
export const SESSIONS_CSV_HEADER = 'scenario,session_start_ns,session_end_ns,running,step,step_start_ns,step_end_ns';

/**
 * The session list as CSV, one row per step (a session's own columns repeated), so a spreadsheet can sum step
 * durations per scenario. ns stay exact decimal text; an open end is an empty cell.
 */
export function sessionsToCsv(sessions: readonly SessionSummary[]): string {
  const lines = [SESSIONS_CSV_HEADER];
  for (const s of sessions) {
    for (const step of s.steps) {
      lines.push(
        [s.scenario, s.startNs, s.endNs, s.running ? 'true' : 'false', step.step, step.startNs, step.endNs].map(csvCell).join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
