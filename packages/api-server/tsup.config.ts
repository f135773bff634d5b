import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ["src/index.ts","src/main.ts"],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // The dashboard finds its built assets next to the bundle through __dirname, also in the ESM output.
  shims: true,
  sourcemap: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
});
