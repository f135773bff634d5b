import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mainJs = join(__dirname, '..', 'dist', 'main.js');

// The built demo as `bash scripts/demo.sh` runs it: a real process, stopped with Ctrl-C (SIGINT).
describe('demo CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-demo-cli-'));
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the report and the URLs, keeps the API up, and exits 0 on Ctrl-C when run without --exit', async () => {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run "npx tsup" in examples/demo first`);
    child = spawn(process.execPath, [mainJs, '--port', '0', '--step-seconds', '4'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (output.includes('press Ctrl-C')) {
          clearInterval(check);
          resolve();
        } else if (child?.exitCode !== null) {
          clearInterval(check);
          reject(new Error(`demo exited early:\n${output}`));
        }
      }, 200);
    });
    expect(output).toMatch(/functest\s+tempest\s+server-1/);
    expect(output).toMatch(/within the 0\.5 % bound/);
    const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
    const swagger = /Swagger UI\s+(http:\/\/127\.0\.0\.1:\d+\/resources\/doc\/)/.exec(output)?.[1];
    expect((await fetch(swagger ?? 'http://127.0.0.1:1/', { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect((await fetch(dashboard ?? 'http://127.0.0.1:1/', { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect(existsSync(join(dir, 'demo-output', 'report.csv'))).toBe(true);
    expect(existsSync(join(dir, '.energyrecorder', 'demo.db'))).toBe(true);

    const code = await new Promise<number | null>((resolve) => {
      child?.once('exit', (c) => resolve(c));
      child?.kill('SIGINT');
    });
    expect(code).toBe(0);
    expect(output).toContain('stopped.');
  }, 120_000);
});
