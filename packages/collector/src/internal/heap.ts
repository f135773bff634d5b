import { setFlagsFromString } from 'node:v8';

/** How far the old generation may grow past what survived the last major GC before the next one, in percent. */
export const DEFAULT_HEAP_GROWING_PERCENT = 100;

/**
 * Bounds V8's old-generation growth for a polling daemon. On a host with a few GB of memory V8 lets the old
 * generation grow to up to 4× what survived the last major GC; a collector polling a thousand devices keeps about
 * 20 MB alive but allocates tens of MB a second, much of it promoted while a tick's reads are in flight, so its
 * heap settled at 120–200 MB of mostly dead objects. Growing by `percent` instead keeps RSS near the live size
 * for more frequent, short mark-compacts (a few ms each at this heap size). 100 % was the best trade measured at
 * 1,000 devices: 50 % saved another 20 MB but cost about 10 % more CPU in marking. The flag is read by V8 at every
 * limit computation, so setting it after start-up takes effect at the next major GC.
 *
 * Does nothing when the process was started with its own `--heap-growing-percent` (which wins, also `=0` for V8's
 * default) or when `percent` is 0. Returns whether it changed the setting.
 */
export function boundHeapGrowth(
  percent: number = DEFAULT_HEAP_GROWING_PERCENT,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  if (!Number.isInteger(percent) || percent <= 0) return false;
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
