/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

export { EnergyRecorder, INITIAL_STEP } from './recorder.js';
export type { RecordingHandle, ReportOptions } from './recorder.js';
export {
  DEFAULT_API_URL,
  DEFAULT_RECORDER_OPTIONS,
  ENV_VARS,
  optionsFromEnv,
  optionsFromLegacyConfig,
  resolveRecorderOptions,
} from './options.js';
export type { RecorderOptions, ResolvedRecorderOptions } from './options.js';
export { SdkError } from './errors.js';
export type { SdkErrorCode, SdkConfigIssue } from './errors.js';
export { enableRecording, setStep, createDecorators, defaultScenarioName } from './decorators.js';
export type { DualMethodDecorator, EnableRecordingOptions } from './decorators.js';
export { getDefaultRecorder, setDefaultRecorder } from './default-recorder.js';
export { recording, step } from './functions.js';
export { parseReport, parseSessions, parseRunningScenario, formatReportTable } from './report.js';
export type {
  RunningScenario,
  SessionStep,
  SessionSummary,
  SessionsResponse,
  EquipmentEnergy,
  StepEnergy,
  EnergyReport,
} from './report.js';
