// Shared Jest settings: SWC compiles TypeScript to CommonJS, workspace packages resolve to their sources so
// tests never need a prior build.
const path = require('node:path');

const packagesDir = path.join(__dirname, 'packages');

/**
 * @param {string} dir package directory
 * @param {{ kind?: 'unit' | 'int', decorators?: 'legacy' | 'standard' }} [opts]
 */
module.exports = function preset(dir, opts = {}) {
  const kind = opts.kind ?? (process.env.JEST_KIND === 'int' ? 'int' : 'unit');
  const decorators = opts.decorators ?? 'standard';
  const jscParser = { syntax: 'typescript', decorators: true };
  const transform =
    decorators === 'legacy'
      ? { legacyDecorator: true, decoratorMetadata: false }
      : { decoratorVersion: '2022-03' };
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: kind === 'int' ? ['<rootDir>/test/**/*.int.test.ts'] : ['<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: kind === 'int' ? ['/node_modules/'] : ['/node_modules/', '\\.int\\.test\\.ts$'],
    transform: {
      '^.+\\.(t|j)sx?$': [
        '@swc/jest',
        { jsc: { parser: jscParser, target: 'es2022', transform }, module: { type: 'commonjs' } },
      ],
    },
    moduleNameMapper: {
      '^@energyrecorder/core/http-auth$': path.join(packagesDir, 'core/src/http-auth.ts'),
      '^@energyrecorder/core/names$': path.join(packagesDir, 'core/src/names.ts'),
      '^@energyrecorder/core/url$': path.join(packagesDir, 'core/src/url.ts'),
      '^@energyrecorder/(core|adapters|collector|api-server|sdk|yocto-redfish|testkit)$': path.join(
        packagesDir,
        '$1/src/index.ts',
      ),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testTimeout: kind === 'int' ? 60000 : 10000,
  };
};
