/**
 * Shapes of the recording API's read endpoints (sessions and energy reports), shared by the server that builds
 * them and the clients that read them. `Ns` is how epoch nanoseconds travel: JSON numbers by default, decimal
 * strings for clients that keep every digit.
 */

/** What `GET /resources/recorders/environment/{env}` answers: the scenario and step running now. */
export interface RunningScenario {
  environment: string;
  scenario: string;
  step: string;
}

/** One step of a stored session. `endNs` is null while the step runs. */
export interface SessionStep<Ns = number> {
  step: string;
  startNs: Ns;
  endNs: Ns | null;
}

/** One stored recording session: a scenario from its start to its stop. */
export interface SessionSummary<Ns = number> {
  scenario: string;
  startNs: Ns;
  endNs: Ns | null;
  running: boolean;
  steps: SessionStep<Ns>[];
  /**
   * The session this one ran inside (its scenario and start), absent for a top-level session. A recording started
   * while another runs suspends it; the outer one is re-submitted when the inner one ends (the SDKs' restore), which
   * confirms the nesting. Set while the inner one runs, and removed if a stop comes instead of the restore (the
   * original's overwrite).
   */
  parent?: { scenario: string; startNs: Ns };
}

/** Answer of `GET /resources/recorders/environment/{env}/sessions`, newest first. */
export interface SessionsResponse<Ns = number> {
  environment: string;
  sessions: SessionSummary<Ns>[];
}

/** Energy of one equipment over a step or a whole session, with the quality figures of `integrateEnergy`. */
export interface EquipmentEnergy {
  equipment: string;
  energyJoules: number;
  energyWh: number;
  /** null when the equipment has no sample in the window. */
  avgWatts: number | null;
  maxWatts: number | null;
  minWatts: number | null;
  durationS: number;
  coveragePct: number;
  sampleCount: number;
  longestGapS: number;
  gapCount: number;
}

/** Energy of one step, per equipment. */
export interface StepEnergy<Ns = number> {
  step: string;
  startNs: Ns;
  endNs: Ns | null;
  energyJoules: number;
  energyWh: number;
  equipments: EquipmentEnergy[];
}

/** Answer of `GET /resources/recorders/environment/{env}/report`: energy per step and per equipment. */
export interface EnergyReport<Ns = number> {
  environment: string;
  scenario: string;
  startNs: Ns;
  endNs: Ns | null;
  running: boolean;
  totals: { energyJoules: number; energyWh: number; durationS: number };
  steps: StepEnergy<Ns>[];
  equipments: EquipmentEnergy[];
  /** The session's {@link SessionSummary.parent}, when it ran inside another. */
  parent?: { scenario: string; startNs: Ns };
}

/** Header of the report's CSV form; one row per (step, equipment), then one per equipment for the session. */
export const REPORT_CSV_HEADER =
  'scope,step,equipment,energy_j,energy_wh,avg_w,peak_w,min_w,duration_s,coverage_pct,samples,longest_gap_s';

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  // Formula-looking cells are prefixed so spreadsheets do not evaluate names as formulas.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvRow(scope: string, step: string, e: EquipmentEnergy): string {
  return [
    scope,
    step,
    e.equipment,
    e.energyJoules,
    e.energyWh,
    e.avgWatts,
    e.maxWatts,
    e.minWatts,
    e.durationS,
    e.coveragePct,
    e.sampleCount,
    e.longestGapS,
  ]
    .map(csvCell)
    .join(',');
}

/** A report as CSV (RFC 4180, CRLF): one `step` row per (step, equipment), then one `session` row per equipment. */
export function reportToCsv<Ns>(report: EnergyReport<Ns>): string {
  const rows = [REPORT_CSV_HEADER];
  for (const st of report.steps) for (const e of st.equipments) rows.push(csvRow('step', st.step, e));
  for (const e of report.equipments) rows.push(csvRow('session', '', e));
  return `${rows.join('\r\n')}\r\n`;
}
