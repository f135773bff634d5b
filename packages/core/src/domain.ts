/** One value read from one sensor of one device at one instant. */
export interface Reading {
  /** Sensor name, e.g. `power` or `System Board/Inlet Temp`. */
  sensor: string;
  /** Unit as the device or adapter names it, e.g. `W`, `Celsius`, `kWh`. */
  unit: string;
  /** The value. */
  value: number;
  /** When the value was taken, in ns since the epoch. */
  timestampNs: number;
  /** Where the value came from inside the device (e.g. `EnvironmentMetrics`, `DCMI`), for diagnostics. */
  source?: string;
}

/** Free-form location tags of an equipment (the original's `dc`, `room`, `row`, `rack`). */
export type Topology = Record<string, string>;

/** The readings one equipment produced in one poll, as they travel to the recording API. */
export interface MeasurementBatch {
  /** Equipment id (the `equipement` tag). */
  equipmentId: string;
  /** Environment (POD) the equipment belongs to. */
  environment: string;
  /** Optional location tags. */
  topology?: Topology;
  /** When the collector started this poll, in ns since the epoch. Used to find the running scenario. */
  collectTimeNs: number;
  readings: Reading[];
}

/** What is running on an environment: the unit every measurement is attributed to. */
export interface RecordingSession {
  environment: string;
  scenario: string;
  step: string;
  /** When the scenario started, in ns since the epoch. */
  startNs?: number;
  /** When it ended, in ns since the epoch; absent while it runs. */
  endNs?: number;
}

/** Scenario and step names used when nothing runs and `ALWAYS_RECORD` is on ("not specified"). */
export const NOT_SPECIFIED = 'n/s';

/** The step a scenario starts with, as the original SDK. */
export const INITIAL_STEP = 'running';

/** One sample of a power trace: time and watts. */
export interface PowerSample {
  timestampNs: number;
  powerWatts: number;
}
