/**
 * When each of `count` new devices makes its first read, as offsets from the start of the interval they join in:
 * spread evenly by position over one polling interval. A first read is the expensive one (the adapter discovers
 * the device, opens connections, logs in), so a thousand of them on the same boundary would overrun the read
 * timeout; by position rather than at random so a restart or a reload behaves the same every time.
 */
export function firstReadOffsetsMs(count: number, intervalMs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.floor((i * intervalMs) / count));
  return out;
}

/**
 * Whether a device whose first read started at `firstReadMs` is due at the aligned tick `boundaryMs`. Its ticks
 * begin with the first boundary after that read, but a first read still running is given up to one whole
 * interval (as any read started on a boundary would have) before a boundary counts as missed.
 */
export function joinsTick(boundaryMs: number, firstReadMs: number, intervalMs: number, firstReadBusy: boolean): boolean {
  if (boundaryMs <= firstReadMs) return false;
  return !firstReadBusy || boundaryMs - firstReadMs >= intervalMs;
}
