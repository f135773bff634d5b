import {
  integrateEnergy,
  medianSpacingNs,
  sortPowerSamples,
  type EnergyReport,
  type EquipmentEnergy,
  type PowerSample,
  type SessionSummary,
  type StepEnergy,
} from '@energyrecorder/core';
import type { EquipmentSample } from './store.js';

/** One equipment's samples sorted by time, with the median spacing the integration takes as its interval. */
interface Series {
  samples: PowerSample[];
  expectedIntervalNs: number;
}

function seriesOf(list: readonly PowerSample[]): Series {
  const samples = sortPowerSamples(list);
  return { samples, expectedIntervalNs: medianSpacingNs(samples) };
}

/** Index of the first sample at or after `t`, or strictly after it with `strict` (`samples.length` when none). */
function firstFrom(samples: readonly PowerSample[], t: number, strict: boolean): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = (samples[mid] as PowerSample).timestampNs;
    if (m < t || (strict && m === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The samples a window's integration reads: those inside it plus the nearest one on each side (the pairs that
 * straddle its edges). With the series' interval given, the result equals integrating all samples, at the cost
 * of the window's samples rather than the session's: a report of 100 steps over 1 M samples took a minute.
 */
function windowSlice(samples: readonly PowerSample[], startNs: number, endNs: number): readonly PowerSample[] {
  const from = Math.max(0, firstFrom(samples, startNs, false) - 1);
  const to = Math.min(samples.length, firstFrom(samples, endNs, true) + 1);
  return samples.slice(from, Math.max(from, to));
}

function energyOf(equipment: string, series: Series, startNs: number, endNs: number): EquipmentEnergy {
  const r = integrateEnergy(windowSlice(series.samples, startNs, endNs), { startNs, endNs, expectedIntervalNs: series.expectedIntervalNs });
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
  const series = new Map(names.map((n) => [n, seriesOf(byEquipment.get(n) ?? [])]));
  const sessionEnd = session.endNs ?? Math.max(nowNs, session.startNs);
  const window = (startNs: number, endNs: number): EquipmentEnergy[] =>
    names.map((n) => energyOf(n, series.get(n) as Series, startNs, endNs));
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
    ...(session.parent === undefined ? {} : { parent: session.parent }),
  };
}
