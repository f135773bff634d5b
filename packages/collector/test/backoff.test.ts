import { backoffDelayMs } from '../src/internal/backoff.js';

describe('backoffDelayMs', () => {
  const opts = { baseMs: 1000, maxMs: 60_000 };

  it('doubles up to the cap when failures accumulate', () => {
    const full = [1, 2, 3, 4, 7, 30].map((n) => backoffDelayMs(n, opts, () => 1));
    expect(full).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000]);
  });

  it('keeps the jittered delay between half and all of the exponential one when random varies', () => {
    expect(backoffDelayMs(3, opts, () => 0)).toBe(2000);
    expect(backoffDelayMs(3, opts, () => 0.5)).toBe(3000);
  });

  it('returns zero when there was no failure', () => {
    expect(backoffDelayMs(0, opts)).toBe(0);
  });
});
