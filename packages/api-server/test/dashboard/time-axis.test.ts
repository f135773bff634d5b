import { timeTickLabels } from '../../dashboard/src/time-axis.js';

describe('timeTickLabels', () => {
  // 2026-11-22 02:47:55 local time, whatever the test machine's zone.
  const t0 = new Date(2026, 10, 22, 2, 47, 55).getTime() / 1000;

  it('gives one short HH:MM:SS line per tick when ticks are seconds apart', () => {
    expect(timeTickLabels([t0, t0 + 5, t0 + 10], 5)).toEqual(['02:47:55', '02:48:00', '02:48:05']);
  });

  it('drops the seconds when ticks are a minute or more apart', () => {
    expect(timeTickLabels([t0 + 5, t0 + 605], 600)).toEqual(['02:48', '02:58']);
  });

  it('never puts a second line (a date) under a tick when the hour or the day changes', () => {
    const midnight = new Date(2026, 10, 23, 0, 0, 0).getTime() / 1000;
    const labels = timeTickLabels([midnight - 10, midnight, midnight + 10], 10);
    expect(labels).toEqual(['23:59:50', '00:00:00', '00:00:10']);
    expect(labels.join('')).not.toContain('\n');
  });
});
