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

  it('with --exit prints the report, no links to the API it has stopped, and exits 0', async () => {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run "npx tsup" in examples/demo first`);
    let out = '';
    const run = spawn(process.execPath, [mainJs, '--exit', '--port', '0', '--step-seconds', '4', '--output-dir', join(dir, 'exit-out'), '--data-dir', join(dir, 'exit-data')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      run.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      run.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((resolve) => run.once('exit', (c) => resolve(c)));
      expect({ code, out }).toEqual({ code: 0, out: expect.stringMatching(/within the 0\.5 % bound/) as unknown });
      expect(existsSync(join(dir, 'exit-out', 'report.csv'))).toBe(true);
      const api = /recording API\s+(http:\/\/127\.0\.0\.1:\d+)\/resources/.exec(out)?.[1];
      expect(api).toBeDefined();
      // The API is gone, so nothing printed after the report may look like a link to it.
      await expect(fetch(`${api ?? 'http://127.0.0.1:1'}/resources/monitoring/ping`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      const afterReport = out.slice(out.indexOf('largest step deviation'));
      expect(afterReport).not.toContain('http://');
      expect(afterReport).toContain('the API has stopped');
    } finally {
      if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
    }
  }, 120_000);

  it('stops everything and exits 0 when Ctrl-C comes while the suite is still running', async () => {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run "npx tsup" in examples/demo first`);
    let out = '';
    const mid = spawn(process.execPath, [mainJs, '--port', '0', '--step-seconds', '6', '--output-dir', join(dir, 'mid-out'), '--data-dir', join(dir, 'mid-data')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => mid.once('exit', (c) => resolve(c)));
    try {
      mid.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      mid.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      // Interrupt inside the first step, once the load is being driven.
      await new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if (/\[1\/6\][^\n]*\n[^\n]*rack/.test(out)) {
            clearInterval(check);
            resolve();
          } else if (mid.exitCode !== null) {
            clearInterval(check);
            reject(new Error(`demo exited early:\n${out}`));
          }
        }, 100);
      });
      const api = /recording API\s+(http:\/\/127\.0\.0\.1:\d+)\/resources/.exec(out)?.[1];
      expect(api).toBeDefined();
      const t0 = Date.now();
      mid.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(out).toContain('interrupted; everything stopped.');
      expect(out).not.toContain('Energy per scenario');
      expect(existsSync(join(dir, 'mid-out', 'report.json'))).toBe(false);
      // The API went down with it.
      await expect(fetch(`${api ?? 'http://127.0.0.1:1'}/resources/monitoring/ping`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    } finally {
      if (mid.exitCode === null && mid.signalCode === null) mid.kill('SIGKILL');
    }
  }, 60_000);
});
