/* global describe, it, expect */
// An ordinary test file: no SDK import. The setup module records it as a scenario, each test as a step.
describe('checkout', () => {
  it('computes the total', () => {
    expect([1, 2, 3].reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('burns some CPU', () => {
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
  });
});
