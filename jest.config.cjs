// `npx jest` at the repository root runs every workspace's suites with each one's own settings (projects), so a
// single file can be run from here too: `npx jest packages/sdk/test/recorder.test.ts`. `npm test` (turbo, one
// package at a time) stays the way CI runs them; integration suites need `JEST_KIND=int` and `--runInBand`.
// `testTimeout` is a global option that projects do not take from their configs: it is repeated here.
module.exports = {
  projects: ['<rootDir>/packages/*/jest.config.cjs', '<rootDir>/examples/*/jest.config.cjs'],
  testTimeout: process.env.JEST_KIND === 'int' ? 60000 : 10000,
};
