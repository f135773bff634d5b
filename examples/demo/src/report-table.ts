/** One line of the demo's report: measured energy of one equipment over one step (or a whole scenario). */
export interface ComparisonRow {
  scenario: string;
  /** Step name, or `(total)` for the whole scenario. */
  step: string;
  equipment: string;
  energyJoules: number;
  energyWh: number;
  avgWatts: number | null;
  peakWatts: number | null;
  coveragePct: number;
  /** Exact energy of the simulated load profile over the same window, in joules. */
  expectedJoules: number;
  /** (measured − expected) / expected, in percent. */
  deviationPct: number;
}

/** Name of the scenario-wide rows. */
export const TOTAL_STEP = '(total)';

function fixed(v: number | null, digits: number): string {
  return v === null ? '-' : v.toFixed(digits);
}

/** Relative deviation in percent; 0 when both are 0. */
export function deviationPct(measured: number, expected: number): number {
  if (expected === 0) return measured === 0 ? 0 : Number.POSITIVE_INFINITY;
  return ((measured - expected) / expected) * 100;
}

/** The rows as an aligned text table, numbers right-aligned. */
export function formatComparisonTable(rows: readonly ComparisonRow[]): string {
  const header = ['scenario', 'step', 'equipment', 'energy J', 'energy Wh', 'avg W', 'peak W', 'coverage %', 'expected J', 'diff %'];
  const numeric = [false, false, false, true, true, true, true, true, true, true];
  const cells = rows.map((r) => [
    r.scenario,
    r.step,
    r.equipment,
    fixed(r.energyJoules, 1),
    fixed(r.energyWh, 4),
    fixed(r.avgWatts, 1),
    fixed(r.peakWatts, 1),
    fixed(r.coveragePct, 1),
    fixed(r.expectedJoules, 1),
    `${r.deviationPct >= 0 ? '+' : ''}${r.deviationPct.toFixed(3)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string =>
    c.map((v, i) => (numeric[i] === true ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...cells.map(line)].join('\n');
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV header of {@link comparisonToCsv}. */
export const COMPARISON_CSV_HEADER =
  'scenario,step,equipment,energy_j,energy_wh,avg_w,peak_w,coverage_pct,expected_j,deviation_pct';

/** The rows as CSV (RFC 4180, CRLF line ends). */
export function comparisonToCsv(rows: readonly ComparisonRow[]): string {
  const lines = [COMPARISON_CSV_HEADER];
  for (const r of rows) {
    lines.push(
      [r.scenario, r.step, r.equipment, r.energyJoules, r.energyWh, r.avgWatts, r.peakWatts, r.coveragePct, r.expectedJoules, r.deviationPct]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
