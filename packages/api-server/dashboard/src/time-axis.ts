const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * Labels for the live chart's time ticks, one short line each in local time: `HH:MM:SS` when ticks are less than
 * a minute apart, `HH:MM` otherwise. uPlot's default adds a second line with the date at some ticks, and on a
 * sliding window those second lines collide ("2:47am2:48am"); the window is at most an hour, so the date says
 * nothing useful there.
 */
export function timeTickLabels(splitsS: readonly number[], incrementS: number): string[] {
  const withSeconds = incrementS < 60;
  return splitsS.map((s) => {
    const d = new Date(s * 1000);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return withSeconds ? `${hm}:${pad(d.getSeconds())}` : hm;
  });
}
