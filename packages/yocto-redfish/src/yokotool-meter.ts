import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { NS_PER_MS } from '@energyrecorder/core';
import { MeterError } from './errors.js';
import { parseNumber } from './internal/yokogawa/scpi.js';
import type { Meter, MeterIdentity, MeterReading } from './meter.js';

/** Options of {@link YokotoolMeter}. */
export interface YokotoolMeterOptions {
  /** Directory holding the `yokotool` program (the original's `YOKOTOOL_PATH`). */
  yokotoolPath: string;
  /** Device node, e.g. `/dev/usbtmc1`. */
  dev: string;
  /** `wt310`, `wt210`, ... as yokotool's `--pmtype`. */
  pmtype: string;
  /** Deadline of one yokotool run. */
  timeoutMs?: number;
}

/**
 * The original yoko2redfish way: run `yokotool <dev> --pmtype=<type> read P --count=1` and take line 2 of its
 * output. Run with an argument array (no shell, no sudo): give the service user access to the device node.
 */
export class YokotoolMeter implements Meter {
  readonly driver = 'yokotool';
  readonly target: string;

  constructor(private readonly opts: YokotoolMeterOptions) {
    this.target = opts.dev;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    signal.throwIfAborted();
    return { manufacturer: 'YOKOGAWA', model: this.opts.pmtype.toUpperCase() };
  }

  async read(signal: AbortSignal): Promise<MeterReading> {
    const program = join(this.opts.yokotoolPath, 'yokotool');
    const args = [this.opts.dev, `--pmtype=${this.opts.pmtype}`, 'read', 'P', '--count=1'];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        program,
        args,
        { signal, timeout: this.opts.timeoutMs ?? 10_000, encoding: 'utf8', maxBuffer: 64 * 1024 },
        (err, out, errOut) => {
          if (err) {
            const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
            reject(
              new MeterError(missing ? `${program} not found` : `yokotool failed: ${(errOut || err.message).trim().slice(0, 300)}`, {
                driver: this.driver,
                target: this.target,
                code: 'ER_METER_TOOL',
                retryable: true,
                cause: err,
              }),
            );
          } else resolve(out);
        },
      );
    });
    // yokotool prints a header line, then the value (the original took line 2). It passes the meter's own
    // number through, so overrange / no data arrives as 9.91E+37 (or NAN/INF) like on the direct USBTMC link.
    const line = stdout.split(/\r?\n/)[1]?.trim() ?? '';
    const value = parseNumber(line);
    if (value === undefined) {
      throw new MeterError(`no active power in yokotool output line 2: "${line.slice(0, 80)}"`, {
        driver: this.driver,
        target: this.target,
        code: 'ER_METER_NO_DATA',
      });
    }
    return { powerWatts: value, timestampNs: Date.now() * NS_PER_MS };
  }

  async close(): Promise<void> {
    // Each read is its own process.
  }
}
