import { createWallClockNs, nowNs } from '../src/index.js';

describe('createWallClockNs', () => {
  it('keeps sub-millisecond precision while the wall clock agrees with the monotonic one', () => {
    let wall = 1_700_000_000_000;
    let mono = 5_000.25;
    const clock = createWallClockNs(() => Math.floor(wall), () => mono);
    const t0 = clock();
    mono += 0.3;
    wall += 0.3;
    expect(clock() - t0).toBeCloseTo(300_000, -3);
  });

  it('follows the wall clock when it is stepped back or forward', () => {
    let wall = 1_700_000_000_000;
    let mono = 10;
    const clock = createWallClockNs(() => wall, () => mono);
    const t0 = clock();
    // NTP steps the clock 40 s back while 1 s passes.
    mono += 1_000;
    wall += 1_000 - 40_000;
    expect(clock()).toBe(t0 + (1_000 - 40_000) * 1e6);
    // Then 2 h forward (a suspended VM resumes).
    mono += 1;
    wall += 1 + 7_200_000;
    expect(clock()).toBe(t0 + (1_000 - 40_000 + 1 + 7_200_000) * 1e6);
  });

  it('tracks the process clock within a few milliseconds when used as nowNs', () => {
    expect(Math.abs(nowNs() / 1e6 - Date.now())).toBeLessThan(5);
  });
});
