import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The user's Jest project of the fixtures: the SDK's setup module and nothing else. */
export const JEST_PROJECT_DIR = join(__dirname, '../fixtures/jest-project');

/**
 * Runs a fixture project (default `jest-project`) in a child Jest with `env` added (`--runInBand` unless `args`
 * say otherwise); resolves with its exit code, output and duration.
 */
export function runFixtureJest(
  env: Record<string, string>,
  options: { dir?: string; args?: string[] } = {},
): Promise<{ code: number; output: string; ms: number }> {
  const jestBin = require.resolve('jest/bin/jest');
  const dir = options.dir ?? JEST_PROJECT_DIR;
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [jestBin, '-c', join(dir, 'jest.config.cjs'), ...(options.args ?? ['--runInBand']), '--ci'],
      { cwd: dir, env: { ...process.env, ...env, JEST_KIND: '' }, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, output: `${stdout}${stderr}`, ms: Date.now() - started });
      },
    );
  });
}

/** The fixture project `name` under test/fixtures. */
export function fixtureDir(name: string): string {
  return join(__dirname, '../fixtures', name);
}
