import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ["src/index.ts", "src/http-auth.ts", "src/names.ts", "src/url.ts"],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
});
