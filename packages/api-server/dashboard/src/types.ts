/**
 * Shapes the page reads from the API (the report/session REST contract and the live stream). ns values are kept
 * as decimal strings: epoch ns exceed 2^53, and the exact digits are needed to ask for a session's report.
 */

/** Epoch nanoseconds as exact decimal digits. */
export type NsText = string;

export interface StepSpan {
  step: string;
  startNs: NsText;
  endNs: NsText | null;
}

export interface SessionSummary {
  scenario: string;
  startNs: NsText;
  endNs: NsText | null;
  running: boolean;
  steps: StepSpan[];
}

export interface SessionsResponse {
  environment: string;
  sessions: SessionSummary[];
}

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

export interface StepEnergy {
  step: string;
  startNs: NsText;
  endNs: NsText | null;
  energyJoules: number;
  energyWh: number;
  equipments: EquipmentEnergy[];
}

export interface SessionReport {
  environment: string;
  scenario: string;
  startNs: NsText;
  endNs: NsText | null;
  running: boolean;
  totals: { energyJoules: number; energyWh: number; durationS: number };
  steps: StepEnergy[];
  equipments: EquipmentEnergy[];
}

/** The original's `runningScenario`. */
export interface RunningScenario {
  environment: string;
  scenario: string;
  step: string;
}

export type {
  LiveBacklog,
  LiveEnvironmentState,
  LivePowerMessage as LivePower,
  LiveSessionMessage as LiveSession,
} from '../../src/dashboard/live-messages.js';
