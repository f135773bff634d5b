import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger, Reading } from '@energyrecorder/core';
import { nowNs } from '@energyrecorder/core';
import { IpmiErrorCode, ipmiError } from '../errors.js';
import { MANUFACTURER_POWER_SENSORS } from '../sdr.js';
import { errorMessage } from '../../internal/device-support.js';

/** Settings of the ipmitool driver. */
export interface IpmitoolDriverOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  cipherSuite: 3 | 17;
  privilege: 'user' | 'operator' | 'admin';
  bridgeAddress?: number;
  bridgeChannel: number;
  sensors?: readonly string[];
  timeoutMs: number;
  /** Program to run; `ipmitool` from PATH by default. */
  command?: string;
  logger: Logger;
}

type Plan = { source: 'dcmi' } | { source: 'sdr'; names: string[] };

/** Parses `dcmi power reading`: the instantaneous watts when the state says "activated", else undefined. */
export function parseIpmitoolDcmi(output: string): number | undefined {
  const watts = /Instantaneous power reading:\s*(\d+)\s*Watts/i.exec(output);
  if (watts?.[1] === undefined) return undefined;
  if (/Power reading state is:\s*deactivated/i.test(output)) return undefined;
  return Number(watts[1]);
}

/**
 * True when `dcmi power reading` output says the BMC measures power over DCMI but is not doing so right now
 * (`Power reading state is: deactivated`).
 */
export function isIpmitoolDcmiDeactivated(output: string): boolean {
  return /Instantaneous power reading:/i.test(output) && /Power reading state is:\s*deactivated/i.test(output);
}

/** Parses `mc info` for the manufacturer id. */
export function parseIpmitoolManufacturerId(output: string): number | undefined {
  const m = /Manufacturer ID\s*:\s*(\d+)/.exec(output);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * Names of the Watts sensors in `sensor list` output (`name | value | unit | status | thresholds…`). Unlike
 * `sdr list full`, which prints `no reading` in place of value and unit, it gives the unit of a sensor that has no
 * reading yet (`| na | Watts | na |`), so such a sensor is not mistaken for another quantity.
 */
export function parseIpmitoolSensorList(output: string): { name: string; watts: boolean }[] {
  const out: { name: string; watts: boolean }[] = [];
  for (const line of output.split('\n')) {
    const cols = line.split('|');
    const name = cols[0]?.trim();
    if (cols.length < 4 || name === undefined || name === '') continue;
    out.push({ name, watts: (cols[2] ?? '').trim() === 'Watts' });
  }
  return out;
}

/** Values of `sensor reading a b c` output (`name | value`); `na` values are left out. */
export function parseIpmitoolSensorReadings(output: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of output.split('\n')) {
    const [name, value] = line.split('|').map((s) => s.trim());
    if (name === undefined || value === undefined || name === '') continue;
    const n = Number(value);
    if (value !== '' && Number.isFinite(n)) out.set(name, n);
  }
  return out;
}

/**
 * Maps ipmitool's stderr (run with `-v`, which names the RAKP failure) to an error code and retryability.
 */
export function classifyIpmitoolFailure(stderr: string): { code: string; retryable: boolean } {
  if (/RAKP 2 HMAC is invalid|invalid integrity check value/i.test(stderr)) {
    return { code: IpmiErrorCode.BAD_PASSWORD, retryable: false };
  }
  if (/unauthorized name/i.test(stderr)) return { code: IpmiErrorCode.UNKNOWN_USER, retryable: false };
  if (/RAKP|no matching cipher suite|unauthorized role|invalid role/i.test(stderr)) {
    return { code: IpmiErrorCode.AUTH, retryable: false };
  }
  if (/Get Auth Capabilities error|No response from remote controller|Insufficient resources/i.test(stderr)) {
    return { code: IpmiErrorCode.TIMEOUT, retryable: true };
  }
  return { code: IpmiErrorCode.IPMITOOL, retryable: true };
}

/**
 * Runs `ipmitool -I lanplus` with an argument array (never a shell). The password goes through `-f` and a
 * private temp file, so it never shows in the process list.
 */
export class IpmitoolDriver {
  private plan: Plan | undefined;
  private sdrNames: string[] | undefined;
  /** True while a `dcmi` plan reads the SDR sensors (or fails) because the measurement is not active. */
  private dcmiPaused = false;
  private dir: string | undefined;
  private readonly target: string;

  constructor(private readonly opts: IpmitoolDriverOptions) {
    this.target = `${opts.host}:${opts.port}`;
  }

  async read(signal: AbortSignal): Promise<Reading[]> {
    const plan = (this.plan ??= await this.probe(signal));
    if (plan.source === 'sdr') return this.readSensors(plan.names, signal);
    const watts = parseIpmitoolDcmi(await this.run(['dcmi', 'power', 'reading'], signal, true));
    if (watts !== undefined) {
      if (this.dcmiPaused) {
        this.dcmiPaused = false;
        this.opts.logger.warn({ source: 'dcmi' }, 'DCMI power measurement active again; reading DCMI again');
      }
      return [{ sensor: 'power', unit: 'W', value: watts, timestampNs: nowNs(), source: 'dcmi' }];
    }
    // Not active for a while: the SDR sum (a different quantity) only stands in until DCMI measures again.
    const names = await this.powerSensorNames(signal);
    if (!this.dcmiPaused) {
      this.dcmiPaused = true;
      this.opts.logger.warn(
        { source: 'dcmi', fallback: names.length > 0 ? 'sdr' : 'none' },
        names.length > 0
          ? 'DCMI power measurement not active; reading the SDR power sensors until it is again'
          : 'DCMI power measurement not active and no SDR power sensor to fall back on; retrying DCMI',
      );
    }
    if (names.length === 0) {
      const why = 'DCMI power measurement is not active and the BMC has no SDR power sensor';
      throw ipmiError(this.target, IpmiErrorCode.DCMI_INACTIVE, why);
    }
    return this.readSensors(names, signal);
  }

  private async readSensors(names: readonly string[], signal: AbortSignal): Promise<Reading[]> {
    const values = parseIpmitoolSensorReadings(await this.run(['sensor', 'reading', ...names], signal, true));
    let total = 0;
    let count = 0;
    for (const name of names) {
      const v = values.get(name);
      if (v === undefined) continue;
      total += v;
      count++;
    }
    if (count === 0) return [];
    return [{ sensor: 'power', unit: 'W', value: total, timestampNs: nowNs(), source: 'sdr' }];
  }

  async close(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  private async probe(signal: AbortSignal): Promise<Plan> {
    if (this.opts.sensors === undefined) {
      try {
        const output = await this.run(['dcmi', 'power', 'reading'], signal, true);
        // A paused measurement (just after the BMC's restart, say) still makes DCMI the source; the SDR sum
        // stands in until it measures again.
        if (parseIpmitoolDcmi(output) !== undefined || isIpmitoolDcmiDeactivated(output)) return { source: 'dcmi' };
      } catch (err) {
        if ((err as { code?: unknown }).code !== IpmiErrorCode.IPMITOOL) throw err;
        this.opts.logger.debug({ err: errorMessage(err) }, 'ipmitool dcmi unavailable, using SDR sensors');
      }
    }
    const names = await this.powerSensorNames(signal);
    if (names.length === 0) {
      const why = 'no DCMI power reading and no matching power sensor';
      throw ipmiError(this.target, IpmiErrorCode.NO_POWER_SOURCE, why, { retryable: false });
    }
    return { source: 'sdr', names };
  }

  /** Names of the SDR power sensors (`sensor list` + `mc info`), looked up once per driver. */
  private async powerSensorNames(signal: AbortSignal): Promise<string[]> {
    if (this.sdrNames !== undefined) return this.sdrNames;
    const sdr = parseIpmitoolSensorList(await this.run(['sensor', 'list'], signal, true));
    let names: string[];
    if (this.opts.sensors !== undefined) {
      const wanted = new Set(this.opts.sensors);
      names = sdr.filter((s) => wanted.has(s.name)).map((s) => s.name);
    } else {
      const id = parseIpmitoolManufacturerId(await this.run(['mc', 'info'], signal, false));
      const pattern = id === undefined ? undefined : MANUFACTURER_POWER_SENSORS.get(id)?.pattern;
      names = pattern === undefined ? [] : sdr.filter((s) => s.watts && pattern.test(s.name)).map((s) => s.name);
    }
    this.sdrNames = names;
    return names;
  }

  /**
   * `-f <0600 temp file>` for a password. An empty password cannot go that way: ipmitool 1.8.19 refuses an
   * empty file ("Unable to read password from file"), and without any password option it may prompt on a TTY.
   * `-P ''` puts nothing secret in the process list.
   */
  private async passwordArgs(): Promise<string[]> {
    if (this.opts.password === '') return ['-P', ''];
    if (this.dir === undefined) {
      this.dir = await mkdtemp(join(tmpdir(), 'er-ipmitool-'));
      await writeFile(join(this.dir, 'pass'), this.opts.password, { mode: 0o600 });
    }
    return ['-f', join(this.dir, 'pass')];
  }

  private async run(command: readonly string[], signal: AbortSignal, bridged: boolean): Promise<string> {
    const o = this.opts;
    const args = [
      '-I', 'lanplus',
      '-H', o.host,
      '-p', String(o.port),
      '-U', o.user,
      ...(await this.passwordArgs()),
      '-C', String(o.cipherSuite),
      '-L', o.privilege === 'admin' ? 'ADMINISTRATOR' : o.privilege.toUpperCase(),
      '-N', String(Math.max(1, Math.round(o.timeoutMs / 4000))),
      '-R', '3',
    ];
    // -v makes ipmitool say why a session failed (RAKP 2 HMAC, unauthorized name), but it also loads the IANA
    // registry (~50 ms of CPU) and changes the layout of `sdr list` and `sensor list`: used for the first command
    // only, where credential problems show up.
    const listing = command[0] === 'sdr' || (command[0] === 'sensor' && command[1] === 'list');
    if (!listing && this.plan === undefined) args.push('-v');
    if (bridged && o.bridgeAddress !== undefined) {
      args.push('-b', String(o.bridgeChannel), '-t', `0x${o.bridgeAddress.toString(16)}`);
    }
    args.push(...command);
    return new Promise<string>((resolve, reject) => {
      execFile(
        o.command ?? 'ipmitool',
        args,
        { signal, timeout: o.timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err === null) {
            resolve(stdout);
            return;
          }
          if (signal.aborted) {
            reject(ipmiError(this.target, IpmiErrorCode.ABORTED, 'ipmitool aborted', { cause: err, retryable: false }));
            return;
          }
          const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/IANA PEN/.test(l));
          const detail = lines.slice(-2).join(' / ').slice(0, 300);
          const { code, retryable } = classifyIpmitoolFailure(stderr);
          const exit = typeof err.code === 'number' ? ` (exit ${err.code})` : '';
          reject(
            ipmiError(
              this.target,
              code,
              `ipmitool ${command.join(' ')} failed${exit}: ${detail || err.message}`,
              { cause: err, retryable },
            ),
          );
        },
      );
    });
  }
}
