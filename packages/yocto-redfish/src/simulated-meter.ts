import { NS_PER_MS } from '@energyrecorder/core';
import type { Meter, MeterIdentity, MeterReading } from './meter.js';
import { MeterError } from './errors.js';
import { parseProfile, type PowerProfile } from './profile.js';

/** Options of {@link SimulatedMeter}. */
export interface SimulatedMeterOptions {
  /** Profile text (see the README), e.g. `constant:200` or `steps:100@10s,300@10s`. */
  profile: string;
  /** Time source in ms since the epoch; inject one to make tests exact. Defaults to `Date.now`. */
  clock?: () => number;
  /** Mains voltage reported with each reading. Defaults to 230 V. */
  voltageVolts?: number;
  /** Serial number reported by `open`. */
  serialNumber?: string;
  /** Reads a replay CSV; injectable for tests. */
  readFile?: (path: string) => string;
}

/**
 * A deterministic meter: power follows a profile of the time since `open`, and the energy it reports is the
 * profile's exact integral, so downstream energy figures can be checked against an analytic value.
 */
export class SimulatedMeter implements Meter {
  readonly driver = 'simulated';
  readonly target: string;
  private readonly profile: PowerProfile;
  private readonly clock: () => number;
  private readonly voltage: number;
  private readonly serial: string;
  private startMs: number | undefined;
  private offline = false;

  constructor(options: SimulatedMeterOptions) {
    this.profile = parseProfile(options.profile, options.readFile);
    this.clock = options.clock ?? Date.now;
    this.voltage = options.voltageVolts ?? 230;
    this.serial = options.serialNumber ?? 'SIM-0001';
    this.target = this.profile.text;
  }

  /** Power the profile gives at `tS` seconds after start. */
  powerAt(tS: number): number {
    return this.profile.powerAt(tS);
  }

  /** Exact energy in joules from start to `tS` seconds. */
  energyJoulesAt(tS: number): number {
    return this.profile.energyJoules(tS);
  }

  /** When the meter was first opened (ms since the epoch), or undefined. */
  get startedAtMs(): number | undefined {
    return this.startMs;
  }

  /** Simulates unplugging (`true`) and plugging back (`false`) the meter, for demos and tests. */
  setOffline(offline: boolean): void {
    this.offline = offline;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    signal.throwIfAborted();
    this.assertOnline();
    // The time origin survives a re-open: a simulated "unplug" must not reset the energy counter.
    this.startMs ??= this.clock();
    return { manufacturer: 'EnergyRecorder', model: 'Simulated meter', serialNumber: this.serial, firmwareVersion: this.profile.text };
  }

  async read(signal: AbortSignal): Promise<MeterReading> {
    signal.throwIfAborted();
    this.assertOnline();
    const now = this.clock();
    const start = this.startMs ?? now;
    this.startMs = start;
    const tS = (now - start) / 1000;
    const powerWatts = this.profile.powerAt(tS);
    return {
      powerWatts,
      voltageVolts: this.voltage,
      currentAmps: powerWatts / this.voltage,
      energyWh: this.profile.energyJoules(tS) / 3600,
      timestampNs: now * NS_PER_MS,
    };
  }

  async close(): Promise<void> {
    // Nothing to release.
  }

  private assertOnline(): void {
    if (this.offline) {
      throw new MeterError('simulated meter is unplugged', { driver: this.driver, target: this.target, code: 'ER_METER_NOT_FOUND' });
    }
  }
}
