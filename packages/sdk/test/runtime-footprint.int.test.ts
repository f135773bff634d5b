import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { isCi, makeTempDir, removeDir } from '@energyrecorder/testkit';

// ADR 0002: a test process that uses the SDK loads nothing of core but its zod-free subpaths (names, url,
// http-auth), never core's main entry with zod and the config schemas. Checked on the built entries, in a child
// process each, as users load them: `import` for the ESM files, `require()` for the CommonJS ones.
const sdkDist = realpathSync(join(__dirname, '../dist'));
const coreDist = join(realpathSync(join(__dirname, '../../core')), 'dist');
const loader = join(__dirname, 'fixtures/footprint/load-entry.mjs');
const entries = ['index.js', 'index.cjs', 'jest.js', 'jest.cjs', 'mocha.js', 'mocha.cjs', 'cli.js', 'cli.cjs'];
const missing = [...entries.map((e) => join(sdkDist, e)), join(coreDist, 'index.cjs')].filter((f) => !existsSync(f));
const built = missing.length === 0;
if (!built) {
  if (isCi()) throw new Error(`${missing.join(', ')} missing; CI=true, so this fails instead of skipping (turbo builds before test:int)`);
  process.stderr.write(`\n!!!!!!!!!! ${missing.join(', ')} not built (npm run build in core, then sdk): SKIPPING the runtime footprint test !!!!!!!!!!\n\n`);
}

let dir: string;

beforeAll(() => {
  dir = makeTempDir('sdk-footprint');
});

afterAll(() => {
  removeDir(dir);
});

/** Every module file a fresh Node process loaded for `entry`. */
function loadedFiles(entry: string): Promise<string[]> {
  const out = join(dir, `${entry.split(sep).join('_')}.json`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [loader, '--help'],
      { env: { ...process.env, FOOTPRINT_ENTRY: entry, FOOTPRINT_OUT: out, NODE_OPTIONS: '' }, timeout: 30_000 },
      (err, _stdout, stderr) => {
        if (err !== null) reject(new Error(`${entry}: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(readFileSync(out, 'utf8')) as string[]);
      },
    );
  });
}

const isZod = (file: string): boolean => file.split(sep).join('/').includes('/node_modules/zod/');
const isCoreMain = (file: string): boolean => file.startsWith(join(coreDist, 'index.'));

describe('runtime footprint of the built SDK', () => {
  (built ? it : it.skip)('sees zod and core index when a process requires core main entry (the check works)', async () => {
    const loaded = await loadedFiles(join(coreDist, 'index.cjs'));
    expect(loaded.some(isZod)).toBe(true);
    expect(loaded.some(isCoreMain)).toBe(true);
  });

  (built ? it.each(entries) : it.skip.each(entries))('loads neither zod nor core main entry when a process loads dist/%s', async (name) => {
    const entry = join(sdkDist, name);
    const loaded = await loadedFiles(entry);
    // Only the resolve hook reports an ESM file and only require.cache a CommonJS one: finding the entry shows
    // that the list covers the loader the entry went through.
    expect(loaded).toContain(entry);
    const foreign = loaded.filter((f) => !f.startsWith(`${sdkDist}${sep}`) && f !== loader && !f.endsWith(`${sep}log-resolve.mjs`));
    expect(foreign.filter((f) => isZod(f) || isCoreMain(f) || !f.startsWith(`${coreDist}${sep}`))).toEqual([]);
  });
});
