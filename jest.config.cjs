// `npx jest` at the repository root runs every workspace's suites with each one's own settings (projects), so a
// single file can be run from here too: `npx jest packages/sdk/test/recorder.test.ts`. `npm test` (turbo, one
// package at a time) stays the way CI runs them; integration suites need `JEST_KIND=int` and `--runInBand`.
module.exports = { projects: ['<rootDir>/packages/*/jest.config.cjs', '<rootDir>/examples/*/jest.config.cjs'] };
