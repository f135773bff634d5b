/**
 * Shapes the page reads from the API (the report/session REST contract and the live stream). ns values are kept
 * as decimal strings: epoch ns exceed 2^53, and the exact digits are needed to ask for a session's report.
 */

import type {
  EnergyReport,
  EquipmentEnergy,
  RunningScenario,
  SessionStep,
  SessionSummary as CoreSessionSummary,
  SessionsResponse as CoreSessionsResponse,
  StepEnergy as CoreStepEnergy,
} from '@energyrecorder/core';

/** Epoch nanoseconds as exact decimal digits. */
export type NsText = string;

// The REST shapes are core's contract types, read with ns as text. Type-only: nothing of core is bundled.
export type StepSpan = SessionStep<NsText>;
export type SessionSummary = CoreSessionSummary<NsText>;
export type SessionsResponse = CoreSessionsResponse<NsText>;
export type StepEnergy = CoreStepEnergy<NsText>;
export type SessionReport = EnergyReport<NsText>;
export type { EquipmentEnergy, RunningScenario };

export type {
  LiveBacklog,
  LiveEnvironmentsMessage as LiveEnvironments,
  LiveEnvironmentState,
  LivePowerMessage as LivePower,
  LiveSessionMessage as LiveSession,
} from '../../src/dashboard/live-messages.js';
