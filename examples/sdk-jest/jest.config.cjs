// The only EnergyRecorder-specific line a Jest user adds.
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/suite/*.test.cjs'],
  setupFilesAfterEnv: ['@energyrecorder/sdk/jest'],
};
