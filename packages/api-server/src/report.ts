import {
  integrateEnergy,
  type EnergyReport,
  type EquipmentEnergy,
  type PowerSample,
  type SessionSummary,
  type StepEnergy,
} from '@energyrecorder/core';
import type { EquipmentSample } from './store.js';

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
  session: SessionSummary,
  samples: readonly EquipmentSample[],
  nowNs: number,
): EnergyReport {
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
