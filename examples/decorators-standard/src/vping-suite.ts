import { enableRecording, setStep } from '@energyrecorder/sdk';

/**
 * A test case the way OPNFV functest wrote them, in TypeScript with standard (TC39) decorators, the TypeScript 5
 * default: nothing to enable in tsconfig. The recorder comes from `NODE_NAME` and `ENERGY_RECORDER_API_URL`
 * unless one is set with `setDefaultRecorder`.
 */
export class VpingSsh {
  /** `@enableRecording()` without a name records the scenario under `caseName`. */
  readonly caseName = 'vping_ssh';
  readonly log: string[] = [];

  @enableRecording()
  async run(target: string, { retries }: { retries: number }): Promise<number> {
    await this.boot(target);
    const ok = await this.ping(target, retries);
    return ok ? 0 : 1;
  }

  @setStep('boot')
  async boot(target: string): Promise<void> {
    this.log.push(`boot ${target}`);
  }

  @setStep('ping')
  async ping(target: string, retries: number): Promise<boolean> {
    this.log.push(`ping ${target} x${retries}`);
    return retries > 0;
  }

  /** A failing case still restores the recorder, and its error reaches the test unchanged. */
  @enableRecording('vping_broken')
  async broken(): Promise<never> {
    await this.boot('nowhere');
    throw new Error('no route to host');
  }
}
