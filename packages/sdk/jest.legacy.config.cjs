// Runs the decorator tests compiled with experimentalDecorators (legacy), next to jest.config.cjs (TC39).
process.env.SDK_DECORATORS = 'legacy';
const base = require('../../jest.preset.cjs')(__dirname, { decorators: 'legacy' });
module.exports = {
  ...base,
  testMatch: base.testMatch.map((m) => m.replace('**/*', '**/*decorators*')),
};
