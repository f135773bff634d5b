import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The user's Jest project of the fixtures: the SDK's setup module and nothing else. */
export const JEST_PROJECT_DIR = join(__dirname, '../fixtures/jest-project');

/** Runs the fixture project in a child Jest with `env` added; resolves with its exit code and output. */
export function runFixtureJest(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const jestBin = require.resolve('jest/bin/jest');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [jestBin, '-c', join(JEST_PROJECT_DIR, 'jest.config.cjs'), '--runInBand', '--ci'],
      { cwd: JEST_PROJECT_DIR, env: { ...process.env, ...env, JEST_KIND: '' }, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}
