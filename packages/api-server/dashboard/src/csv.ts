import type { EquipmentEnergy, SessionReport } from './types.js';

/** Header of the report CSV, the same as the API's `format=csv`. */
export const REPORT_CSV_HEADER =
  'scope,step,equipment,energy_j,energy_wh,avg_w,peak_w,min_w,duration_s,coverage_pct,samples,longest_gap_s';

/** Quotes a CSV cell when needed (RFC 4180), and defuses spreadsheet formulas in names. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function row(scope: string, step: string, eq: EquipmentEnergy): string {
  return [
    scope,
    step,
    eq.equipment,
    eq.energyJoules,
    eq.energyWh,
    eq.avgWatts,
    eq.maxWatts,
    eq.minWatts,
    eq.durationS,
    eq.coveragePct,
    eq.sampleCount,
    eq.longestGapS,
  ]
    .map(csvCell)
    .join(',');
}

/** The report as CSV in the API's layout: one row per (step, equipment), then one per equipment for the session. */
export function reportToCsv(report: SessionReport): string {
  const lines = [REPORT_CSV_HEADER];
  for (const step of report.steps) for (const eq of step.equipments) lines.push(row('step', step.step, eq));
  for (const eq of report.equipments) lines.push(row('session', '', eq));
  return `${lines.join('\r\n')}\r\n`;
}

/** Live samples as CSV: `time_ns,equipment,power_w`, in the order given. */
export function samplesToCsv(rows: ReadonlyArray<{ timeS: number; equipment: string; watts: number }>): string {
  const lines = ['time_ns,equipment,power_w'];
  for (const r of rows) {
    lines.push([BigInt(Math.round(r.timeS * 1e9)).toString(), csvCell(r.equipment), csvCell(r.watts)].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
