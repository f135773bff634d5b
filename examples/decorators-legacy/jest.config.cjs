// SWC compiles this example's decorators the way `experimentalDecorators: true` does in tsc.
module.exports = require('../../jest.preset.cjs')(__dirname, { decorators: 'legacy' });
