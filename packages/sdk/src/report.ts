import { SdkError } from './errors.js';
import { isRecord } from './internal/http.js';

import type {
  EnergyReport,
  EquipmentEnergy,
  RunningScenario,
  SessionsResponse,
  SessionStep,
  SessionSummary,
  StepEnergy,
} from '@energyrecorder/core';

// The shapes are the API's contract, owned by core; they are re-exported here for SDK users.
export type { EnergyReport, EquipmentEnergy, RunningScenario, SessionsResponse, SessionStep, SessionSummary, StepEnergy };

function bad(path: string, what: string): SdkError {
  return new SdkError('ER_SDK_RESPONSE', `unexpected answer from the recording API: ${path} ${what}`);
}

function str(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`${path}${key}`, 'is not a string');
  return v;
}

function num(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || Number.isNaN(v)) throw bad(`${path}${key}`, 'is not a number');
  return v;
}

function numOrNull(o: Record<string, unknown>, key: string, path: string): number | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  return num(o, key, path);
}

function list(o: Record<string, unknown>, key: string, path: string): Record<string, unknown>[] {
  const v = o[key];
  if (!Array.isArray(v)) throw bad(`${path}${key}`, 'is not a list');
  return v.map((item: unknown, i) => {
    if (!isRecord(item)) throw bad(`${path}${key}.${i}`, 'is not an object');
    return item;
  });
}

function obj(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) throw bad(path === '' ? '(body)' : path, 'is not an object');
  return value;
}

/** Checks the shape of a running-scenario answer. */
export function parseRunningScenario(value: unknown): RunningScenario {
  const o = obj(value, '');
  return { environment: str(o, 'environment', ''), scenario: str(o, 'scenario', ''), step: str(o, 'step', '') };
}

/** A session's optional `parent` (the session it ran inside), checked when present. */
function parentOf(o: Record<string, unknown>, path: string): { parent?: { scenario: string; startNs: number } } {
  if (o['parent'] === undefined || o['parent'] === null) return {};
  const p = obj(o['parent'], `${path}parent`);
  return { parent: { scenario: str(p, 'scenario', `${path}parent.`), startNs: num(p, 'startNs', `${path}parent.`) } };
}

/** Checks the shape of a sessions answer. */
export function parseSessions(value: unknown): SessionsResponse {
  const o = obj(value, '');
  return {
    environment: str(o, 'environment', ''),
    sessions: list(o, 'sessions', '').map((s, i) => {
      const p = `sessions.${i}.`;
      return {
        scenario: str(s, 'scenario', p),
        startNs: num(s, 'startNs', p),
        endNs: numOrNull(s, 'endNs', p),
        running: s['running'] === true,
        steps: list(s, 'steps', p).map((st, j) => ({
          step: str(st, 'step', `${p}steps.${j}.`),
          startNs: num(st, 'startNs', `${p}steps.${j}.`),
          endNs: numOrNull(st, 'endNs', `${p}steps.${j}.`),
        })),
        ...parentOf(s, p),
      };
    }),
  };
}

function parseEquipment(e: Record<string, unknown>, p: string): EquipmentEnergy {
  return {
    equipment: str(e, 'equipment', p),
    energyJoules: num(e, 'energyJoules', p),
    energyWh: num(e, 'energyWh', p),
    avgWatts: numOrNull(e, 'avgWatts', p),
    maxWatts: numOrNull(e, 'maxWatts', p),
    minWatts: numOrNull(e, 'minWatts', p),
    durationS: num(e, 'durationS', p),
    coveragePct: num(e, 'coveragePct', p),
    sampleCount: num(e, 'sampleCount', p),
    longestGapS: num(e, 'longestGapS', p),
    gapCount: num(e, 'gapCount', p),
  };
}

/** Checks the shape of a report answer. */
export function parseReport(value: unknown): EnergyReport {
  const o = obj(value, '');
  const totals = obj(o['totals'], 'totals');
  return {
    environment: str(o, 'environment', ''),
    scenario: str(o, 'scenario', ''),
    startNs: num(o, 'startNs', ''),
    endNs: numOrNull(o, 'endNs', ''),
    running: o['running'] === true,
    totals: {
      energyJoules: num(totals, 'energyJoules', 'totals.'),
      energyWh: num(totals, 'energyWh', 'totals.'),
      durationS: num(totals, 'durationS', 'totals.'),
    },
    steps: list(o, 'steps', '').map((s, i) => ({
      step: str(s, 'step', `steps.${i}.`),
      startNs: num(s, 'startNs', `steps.${i}.`),
      endNs: numOrNull(s, 'endNs', `steps.${i}.`),
      energyJoules: num(s, 'energyJoules', `steps.${i}.`),
      energyWh: num(s, 'energyWh', `steps.${i}.`),
      equipments: list(s, 'equipments', `steps.${i}.`).map((e, j) => parseEquipment(e, `steps.${i}.equipments.${j}.`)),
    })),
    equipments: list(o, 'equipments', '').map((e, j) => parseEquipment(e, `equipments.${j}.`)),
    ...parentOf(o, ''),
  };
}

function fixed(value: number | null, digits: number): string {
  return value !== null && Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Renders a report as a plain-text table: one row per (step, equipment), then the session totals. */
export function formatReportTable(report: EnergyReport): string {
  const header = ['step', 'equipment', 'energy_wh', 'energy_j', 'avg_w', 'peak_w', 'coverage_%'];
  const rows: string[][] = [];
  const equipmentRow = (scope: string, e: EquipmentEnergy): string[] =>
    [scope, e.equipment, fixed(e.energyWh, 4), fixed(e.energyJoules, 1), fixed(e.avgWatts, 1), fixed(e.maxWatts, 1), fixed(e.coveragePct, 1)];
  for (const step of report.steps) {
    if (step.equipments.length === 0) rows.push([step.step, '-', fixed(step.energyWh, 4), fixed(step.energyJoules, 1), '', '', '']);
    for (const e of step.equipments) rows.push(equipmentRow(step.step, e));
  }
  for (const e of report.equipments) rows.push(equipmentRow('(session)', e));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const title = `${report.environment} / ${report.scenario}${report.running ? ' (running)' : ''}: ${fixed(report.totals.energyWh, 4)} Wh over ${fixed(report.totals.durationS, 1)} s`;
  return [title, line(header), ...rows.map(line)].join('\n');
}
