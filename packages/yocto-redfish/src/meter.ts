/** One reading of a watt meter. Only `powerWatts` is mandatory; the other quantities depend on the model. */
export interface MeterReading {
  /** Active power in watts. */
  powerWatts: number;
  /** RMS voltage in volts, when the meter measures it. */
  voltageVolts?: number;
  /** RMS current in amperes, when the meter measures it. */
  currentAmps?: number;
  /**
   * Energy in watt-hours counted by the meter itself since it was opened (or since its counter started). When
   * absent the service integrates `powerWatts` over time instead.
   */
  energyWh?: number;
  /** When the value was taken, in ns since the epoch. */
  timestampNs: number;
}

/** What a meter says about itself once opened. */
export interface MeterIdentity {
  manufacturer: string;
  model: string;
  serialNumber?: string;
  firmwareVersion?: string;
}

/**
 * A watt meter driver. `open` connects (and identifies the model), `read` takes one reading, `close` releases
 * the device. After a failed `read` the owner calls `close` and later `open` again, so implementations need no
 * reconnection logic of their own. Every method honours its `AbortSignal`.
 */
export interface Meter {
  /** Driver name as written in the config (`simulated`, `yokotool`, ...). */
  readonly driver: string;
  /** Where the meter is (device node, serial number, hub URL); never contains credentials. */
  readonly target: string;
  open(signal: AbortSignal): Promise<MeterIdentity>;
  read(signal: AbortSignal): Promise<MeterReading>;
  /** Never throws. */
  close(): Promise<void>;
}

/** DMTF `Status.State` values this service uses. */
export type MeterState = 'Enabled' | 'Starting' | 'UnavailableOffline';
/** DMTF `Status.Health` values. */
export type MeterHealth = 'OK' | 'Warning' | 'Critical';

/** The condition of one meter as the Redfish service reports it. */
export interface MeterStatus {
  state: MeterState;
  health: MeterHealth;
  /** Last error message, when the meter is unavailable. */
  lastError?: string;
  /** Consecutive failed reads or opens. */
  failures: number;
}
