import { integrateEnergy, type PowerSample } from '@energyrecorder/core';
import type { EquipmentSample } from './store.js';
import type { SessionRecord } from './sessions.js';

/** Energy of one equipment over one window (the contract's EQ object). */
export interface EquipmentEnergy {
  equipment: string;
  energyJoules: number;
  energyWh: number;
  avgWatts: number | null;
  maxWatts: number | null;
  minWatts: number | null;
  durationS: number;
  coveragePct: number;
  sampleCount: number;
  longestGapS: number;
  gapCount: number;
}

/** Energy of one step. */
export interface StepEnergy {
  step: string;
  startNs: number;
  endNs: number | null;
  energyJoules: number;
  energyWh: number;
  equipments: EquipmentEnergy[];
}

/** The report of one session. */
export interface SessionReport {
  environment: string;
  scenario: string;
  startNs: number;
  endNs: number | null;
  running: boolean;
  totals: { energyJoules: number; energyWh: number; durationS: number };
  steps: StepEnergy[];
  equipments: EquipmentEnergy[];
}

function energyOf(equipment: string, samples: readonly PowerSample[], startNs: number, endNs: number): EquipmentEnergy {
  const r = integrateEnergy(samples, { startNs, endNs });
  return {
    equipment,
    energyJoules: r.energyJoules,
    energyWh: r.energyWh,
    avgWatts: r.avgWatts,
    maxWatts: r.maxWatts,
    minWatts: r.minWatts,
    durationS: r.durationNs / 1e9,
    coveragePct: r.coveragePct,
    sampleCount: r.sampleCount,
    longestGapS: r.longestGapNs / 1e9,
    gapCount: r.gaps.length,
  };
}

/**
 * Builds the report of `session` from power samples grouped by equipment. Windows are exact: a running session
 * or step ends at `nowNs`. Samples may extend past the window; integration interpolates at its edges.
 */
export function buildReport(
  environment: string,
  session: SessionRecord,
  samples: readonly EquipmentSample[],
  nowNs: number,
): SessionReport {
  const byEquipment = new Map<string, PowerSample[]>();
  for (const s of samples) {
    let list = byEquipment.get(s.equipment);
    if (list === undefined) {
      list = [];
      byEquipment.set(s.equipment, list);
    }
    list.push({ timestampNs: s.timestampNs, powerWatts: s.powerWatts });
  }
  const names = [...byEquipment.keys()].sort();
  const sessionEnd = session.endNs ?? Math.max(nowNs, session.startNs);
  const window = (startNs: number, endNs: number): EquipmentEnergy[] =>
    names.map((n) => energyOf(n, byEquipment.get(n) ?? [], startNs, endNs));
  const sum = (list: EquipmentEnergy[]): number => list.reduce((a, e) => a + e.energyJoules, 0);
  const steps = session.steps.map((st): StepEnergy => {
    const eqs = window(st.startNs, st.endNs ?? sessionEnd);
    const j = sum(eqs);
    return { step: st.step, startNs: st.startNs, endNs: st.endNs, energyJoules: j, energyWh: j / 3600, equipments: eqs };
  });
  const equipments = window(session.startNs, sessionEnd);
  const total = sum(equipments);
  return {
    environment,
    scenario: session.scenario,
    startNs: session.startNs,
    endNs: session.endNs,
    running: session.running,
    totals: { energyJoules: total, energyWh: total / 3600, durationS: (sessionEnd - session.startNs) / 1e9 },
    steps,
    equipments,
  };
}

/** CSV header of the report. */
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
  return [scope, step, e.equipment, e.energyJoules, e.energyWh, e.avgWatts, e.maxWatts, e.minWatts, e.durationS, e.coveragePct, e.sampleCount, e.longestGapS]
    .map(csvCell)
    .join(',');
}

/** The report as CSV: one `step` row per (step, equipment), then one `session` row per equipment. */
export function reportToCsv(report: SessionReport): string {
  const rows = [REPORT_CSV_HEADER];
  for (const st of report.steps) for (const e of st.equipments) rows.push(csvRow('step', st.step, e));
  for (const e of report.equipments) rows.push(csvRow('session', '', e));
  return `${rows.join('\r\n')}\r\n`;
}
