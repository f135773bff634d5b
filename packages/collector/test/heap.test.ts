import { boundHeapGrowth, DEFAULT_HEAP_GROWING_PERCENT } from '../src/internal/heap.js';

describe('boundHeapGrowth', () => {
  it('sets the growth bound when the process was started without one', () => {
    expect(boundHeapGrowth(DEFAULT_HEAP_GROWING_PERCENT, [])).toBe(true);
  });

  it('leaves V8 alone when the command line already sets the growth', () => {
    expect(boundHeapGrowth(50, ['--heap-growing-percent=0'])).toBe(false);
    expect(boundHeapGrowth(50, ['--heap_growing_percent=200'])).toBe(false);
  });

  it('leaves V8 alone when the percent is 0 or not a whole number', () => {
    expect(boundHeapGrowth(0, [])).toBe(false);
    expect(boundHeapGrowth(12.5, [])).toBe(false);
  });
});
