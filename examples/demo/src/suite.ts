import { enableRecording, setStep } from '@energyrecorder/sdk';

/** What one step of the example suite asks of the rack. */
export interface StepLoad {
  scenario: string;
  step: string;
  /** Extra power of a machine with `loadFactor` 1 at the middle of the step, in watts. */
  peakWatts: number;
  /** How long the load lasts, in seconds. */
  seconds: number;
}

/** The example suite's plan: two scenarios, three steps each, each with its own load (32 s of load, ~50 s with
 * the idle margins around each step). */
export const SUITE_PLAN: readonly StepLoad[] = Object.freeze([
  { scenario: 'functest', step: 'healthcheck', peakWatts: 40, seconds: 4 },
  { scenario: 'functest', step: 'tempest', peakWatts: 260, seconds: 8 },
  { scenario: 'functest', step: 'vping', peakWatts: 120, seconds: 5 },
  { scenario: 'bench', step: 'cpu', peakWatts: 300, seconds: 6 },
  { scenario: 'bench', step: 'disk', peakWatts: 90, seconds: 4 },
  { scenario: 'bench', step: 'network', peakWatts: 160, seconds: 5 },
]);

/** Runs the load of one step; the demo implements it with the simulated rack. */
export type LoadDriver = (scenario: string, step: string) => Promise<void>;

/**
 * A Functest-like suite written the way a test author would: `@enableRecording` on the case, `@setStep` on each
 * phase. The recorder is the SDK's default one (the demo sets it; in CI it comes from `NODE_NAME` and
 * `ENERGY_RECORDER_API_URL`).
 */
export class Functest {
  readonly caseName = 'functest';

  constructor(private readonly load: LoadDriver) {}

  @enableRecording('functest')
  async run(): Promise<void> {
    await this.healthcheck();
    await this.tempest();
    await this.vping();
  }

  @setStep('healthcheck')
  async healthcheck(): Promise<void> {
    await this.load('functest', 'healthcheck');
  }

  @setStep('tempest')
  async tempest(): Promise<void> {
    await this.load('functest', 'tempest');
  }

  @setStep('vping')
  async vping(): Promise<void> {
    await this.load('functest', 'vping');
  }
}

/** A benchmark suite; its scenario name comes from `caseName`, the default of `@enableRecording()`. */
export class Bench {
  readonly caseName = 'bench';

  constructor(private readonly load: LoadDriver) {}

  @enableRecording()
  async run(): Promise<void> {
    await this.cpu();
    await this.disk();
    await this.network();
  }

  @setStep('cpu')
  async cpu(): Promise<void> {
    await this.load('bench', 'cpu');
  }

  @setStep('disk')
  async disk(): Promise<void> {
    await this.load('bench', 'disk');
  }

  @setStep('network')
  async network(): Promise<void> {
    await this.load('bench', 'network');
  }
}
