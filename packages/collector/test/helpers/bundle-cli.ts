import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

/**
 * Bundles `src/main.ts` (and the workspace packages it uses, from their sources) into one ESM file that plain
 * `node` runs, so CLI tests exercise the real process without SWC or tsx. npm dependencies stay external and
 * resolve from the repository's node_modules.
 */
export async function bundleCli(): Promise<string> {
  const pkgDir = join(__dirname, '..', '..');
  // Under node_modules: ignored by git and eslint, and npm packages still resolve from the repository root.
  const outfile = join(pkgDir, 'node_modules', '.cache', 'er-collector-cli', 'main.mjs');
  const externalNpm: Plugin = {
    name: 'external-npm',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith('@energyrecorder/') ? undefined : { path: args.path, external: true },
      );
    },
  };
  await build({
    entryPoints: [join(pkgDir, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: join(pkgDir, 'tsconfig.json'),
    plugins: [externalNpm],
    logLevel: 'silent',
  });
  return outfile;
}
