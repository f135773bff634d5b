import { firstReadOffsetsMs, joinsTick } from '../src/internal/stagger.js';

describe('firstReadOffsetsMs', () => {
  it('spreads devices evenly over one interval by position when there are many', () => {
    const offsets = firstReadOffsetsMs(1000, 1000);
    expect(offsets).toHaveLength(1000);
    expect(offsets[0]).toBe(0);
    expect(offsets[1]).toBe(1);
    expect(offsets[999]).toBe(999);
    expect(offsets.every((o, i) => i === 0 || o >= (offsets[i - 1] ?? 0))).toBe(true);
  });

  it('gives the same offsets every time when called twice with the same inputs', () => {
    expect(firstReadOffsetsMs(7, 5000)).toEqual(firstReadOffsetsMs(7, 5000));
    expect(firstReadOffsetsMs(4, 1000)).toEqual([0, 250, 500, 750]);
  });

  it('keeps every offset inside the interval when there are more devices than milliseconds', () => {
    const offsets = firstReadOffsetsMs(3000, 1000);
    expect(Math.max(...offsets)).toBe(999);
    expect(offsets.filter((o) => o === 0)).toHaveLength(3);
  });

  it('returns nothing when there is no device', () => {
    expect(firstReadOffsetsMs(0, 1000)).toEqual([]);
  });
});

describe('joinsTick', () => {
  it('leaves out the boundary of the first read itself and any before it', () => {
    expect(joinsTick(1000, 1000, 1000, false)).toBe(false);
    expect(joinsTick(1000, 1500, 1000, false)).toBe(false);
  });

  it('joins the next boundary when the first read has ended', () => {
    expect(joinsTick(2000, 1999, 1000, false)).toBe(true);
  });

  it('waits while the first read runs and has had less than one interval', () => {
    expect(joinsTick(2000, 1500, 1000, true)).toBe(false);
  });

  it('joins, so the tick counts as missed, when the first read runs for a whole interval', () => {
    expect(joinsTick(2500, 1500, 1000, true)).toBe(true);
  });
});
