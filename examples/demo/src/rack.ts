import { NS_PER_MS, type Logger } from '@energyrecorder/core';
import { createRedfishService, type Meter, type MeterIdentity, type MeterReading, type RedfishService } from '@energyrecorder/yocto-redfish';
import { LoadProfile } from './load-profile.js';
import { sleep } from './internal/sleep.js';

/** One machine of the demo rack. */
export interface RackMachine {
  /** Equipment id (the `equipement` tag) and Redfish chassis name. */
  id: string;
  idleWatts: number;
  /** Share of a step's load this machine draws (a switch sees less of a CPU benchmark than a server). */
  loadFactor: number;
}

/** The demo rack: two servers and a switch. */
export const DEFAULT_RACK: readonly RackMachine[] = Object.freeze([
  { id: 'server-1', idleWatts: 120, loadFactor: 1 },
  { id: 'server-2', idleWatts: 95, loadFactor: 0.7 },
  { id: 'switch-1', idleWatts: 45, loadFactor: 0.15 },
]);

/**
 * A watt meter whose power is a {@link LoadProfile} of wall-clock time. It implements yocto-redfish's `Meter`
 * contract, so the real Redfish service serves it exactly like a USB meter; its energy counter is the exact
 * integral since it was opened.
 */
export class ProfileMeter implements Meter {
  readonly driver = 'demo-profile';
  readonly target: string;
  private openedAtMs: number | undefined;

  constructor(
    readonly profile: LoadProfile,
    name: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.target = name;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    signal.throwIfAborted();
    this.openedAtMs ??= this.clock();
    return { manufacturer: 'EnergyRecorder demo', model: 'Profile meter', serialNumber: `DEMO-${this.target}` };
  }

  async read(signal: AbortSignal): Promise<MeterReading> {
    signal.throwIfAborted();
    const now = this.clock();
    const opened = this.openedAtMs ?? now;
    this.openedAtMs = opened;
    return {
      powerWatts: this.profile.powerAt(now),
      voltageVolts: 230,
      currentAmps: this.profile.powerAt(now) / 230,
      energyWh: this.profile.energyJoules(opened, now) / 3600,
      timestampNs: now * NS_PER_MS,
    };
  }

  async close(): Promise<void> {
    // Nothing to release: the meter is a formula.
  }
}

/** A running rack: one Redfish service per machine on a free 127.0.0.1 port. */
export interface Rack {
  readonly machines: ReadonlyArray<RackMachine & { url: string; profile: LoadProfile }>;
  /**
   * Runs one load burst on every machine (scaled by its `loadFactor`) and resolves when it is over. The power is
   * idle for `marginMs` before and after: with a margin longer than the poll interval, the two samples around a
   * step boundary are both idle, so interpolating between them is exact even for the SDK's few-ms `running` step.
   */
  drive(peakWatts: number, durationMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startRack}. */
export interface RackOptions {
  machines?: readonly RackMachine[];
  logger?: Logger;
  /** Idle time before and after each burst, in ms; keep it above the collector's poll interval. Default 1200. */
  marginMs?: number;
}


/** Starts the rack's Redfish services. */
export async function startRack(options: RackOptions = {}): Promise<Rack> {
  const machines = options.machines ?? DEFAULT_RACK;
  const marginMs = options.marginMs ?? 1200;
  const started: Array<RackMachine & { url: string; profile: LoadProfile; service: RedfishService }> = [];
  try {
    for (const m of machines) {
      const profile = new LoadProfile(m.idleWatts);
      const service = createRedfishService({
        meters: [{ id: '1', name: m.id, meter: new ProfileMeter(profile, m.id) }],
        host: '127.0.0.1',
        port: 0,
        // Read on request, cached for at most 50 ms: the collector then sees the power of the instant it asked.
        backgroundPolling: false,
        pollIntervalMs: 50,
        ...(options.logger === undefined ? {} : { logger: options.logger.child({ component: 'redfish', machine: m.id }) }),
      });
      const url = await service.listen();
      started.push({ ...m, url, profile, service });
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.service.close()));
    throw err;
  }
  return {
    machines: started.map(({ service: _service, ...rest }) => rest),
    async drive(peakWatts, durationMs, signal) {
      await sleep(marginMs, signal);
      const startMs = Date.now();
      for (const m of started) m.profile.addBurst({ startMs, durationMs, peakWatts: peakWatts * m.loadFactor });
      await sleep(durationMs + marginMs, signal);
    },
    async close() {
      await Promise.all(started.map((s) => s.service.close()));
    },
  };
}
