#!/usr/bin/env node
// Bundles the dashboard (TypeScript, CSS and uPlot) into self-contained static files: no CDN, works offline.
// Usage: node scripts/build-dashboard.mjs [--out <dir>] [--no-minify]
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(packageDir, 'dist', 'dashboard') },
    'no-minify': { type: 'boolean', default: false },
  },
});
const outDir = resolve(values.out);
const srcDir = join(packageDir, 'dashboard');

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const result = await build({
  entryPoints: { app: join(srcDir, 'src', 'main.ts') },
  outdir: outDir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: !values['no-minify'],
  sourcemap: true,
  legalComments: 'linked',
  tsconfig: join(srcDir, 'tsconfig.json'),
  logLevel: 'warning',
  metafile: true,
});
await copyFile(join(srcDir, 'index.html'), join(outDir, 'index.html'));
const bytes = Object.entries(result.metafile.outputs)
  .filter(([name]) => !name.endsWith('.map'))
  .map(([name, o]) => `${name.split('/').pop()} ${(o.bytes / 1024).toFixed(1)} kB`);
console.log(`dashboard built into ${outDir}: ${bytes.join(', ')}`);
