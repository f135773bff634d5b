import type { EnergyRecorder } from '@energyrecorder/sdk';

/** What the example harness did, for the caller to check. */
export interface HarnessResult {
  deployed: string[];
  checks: number;
}

/**
 * A test harness without classes or decorators: `recording()` wraps the whole run as one scenario and `step()`
 * marks each phase (with a function, the step is set before it runs; without one, from now on). Recording
 * failures are logged, never thrown, so the harness runs the same when the API is down.
 */
export async function deployAndCheck(recorder: EnergyRecorder, services: readonly string[]): Promise<HarnessResult> {
  return recorder.recording('deploy-and-check', async () => {
    const deployed = await recorder.step('deploy', async () => {
      const done: string[] = [];
      for (const s of services) done.push(s);
      return done;
    });
    await recorder.step('smoke');
    return { deployed, checks: deployed.length };
  });
}
