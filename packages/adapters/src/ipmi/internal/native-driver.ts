import type { Logger, Reading } from '@energyrecorder/core';
import { nowNs } from '@energyrecorder/core';
import { asIpmiError, IpmiErrorCode, ipmiError } from '../errors.js';
import {
  convertReading,
  type FullSensorRecord,
  parseFullSensorRecord,
  selectPowerSensors,
  unconvertibleReason,
} from '../sdr.js';
import { CIPHER_SUITES } from './cipher-suite.js';
import {
  Cmd,
  decodeDcmiPowerReading,
  decodeDeviceId,
  decodeSensorReading,
  encodeDcmiGetPowerReading,
  encodeGetSdr,
  NetFn,
} from './commands.js';
import { BMC_ADDRESS } from './packet.js';
import { IpmiSession, type RequestTarget } from './session.js';
import { errorMessage } from '../../internal/device-support.js';

/** Settings of the native driver, resolved from the adapter config. */
export interface NativeDriverOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  cipherSuite: 3 | 17;
  privilege: number;
  bridge?: RequestTarget;
  sensors?: readonly string[];
  timeoutMs: number;
  attempts: number;
  version?: 'auto' | '2.0' | '1.5';
  logger: Logger;
  /**
   * A session the BMC has not answered in for longer than this is closed and a new one opened before the next
   * request; default {@link IDLE_REOPEN_MS}.
   */
  idleReopenMs?: number;
  /** Clock in epoch ms, for the idle check; default `Date.now`. */
  now?: () => number;
}

/**
 * Idle time after which a session is reopened before it is used. BMCs close a session idle for their inactivity
 * timeout, 60 s ± 3 s by default (IPMI v2.0 §6.12.15), and then ignore its packets: a poll every minute would
 * otherwise spend its retransmissions on a dead session. Half of it leaves room for BMCs with a shorter timeout.
 */
export const IDLE_REOPEN_MS = 30_000;

/** Sensors owned by another controller than the BMC are read through Send Message to their owner. */
function ownerTarget(rec: FullSensorRecord): RequestTarget | undefined {
  return rec.ownerId === BMC_ADDRESS ? undefined : { address: rec.ownerId, channel: rec.channel };
}

/**
 * How power is read once the BMC was probed. With `dcmi`, SDR sensors are only a stand-in for polls where the
 * measurement is not active: DCMI is asked first on every poll so the series goes back to it as soon as it can.
 */
type Plan = { source: 'dcmi' } | { source: 'sdr'; sensors: FullSensorRecord[] };

/** Outcome of one DCMI Get Power Reading: watts, or why there are none. */
type DcmiResult = { watts: number } | { inactive: 'not-active' | 'refused' };

/** Bytes asked per Get SDR call: small enough for every BMC's buffer (§33.12 allows 0FFh, few honour it). */
const SDR_CHUNK = 24;

/** Reads power from a BMC with our own RMCP+ stack; keeps the session across reads. */
export class NativeIpmiDriver {
  private session: IpmiSession | undefined;
  private plan: Plan | undefined;
  /** Power sensors from this session's SDR walk; kept so a DCMI-only BMC is not walked again on every poll. */
  private sdrSensors: { manufacturerId: number; sensors: FullSensorRecord[] } | undefined;
  /** True while a `dcmi` plan reads the SDR sensors (or fails) because the measurement is not active. */
  private dcmiPaused = false;
  /** DCMI was active at least once: a re-probe after a lost session keeps DCMI even if it is paused then. */
  private dcmiSeen = false;
  private reading: Promise<unknown> = Promise.resolve();
  /** Close Session of sessions given up on (idle, or a read aborted in them), sent without delaying reads. */
  private readonly closing = new Set<Promise<void>>();
  /** Sensors already warned about because their readings cannot be converted: one `warn` line each. */
  private readonly unconvertible = new Set<string>();
  private readonly target: string;
  private readonly now: () => number;

  constructor(private readonly opts: NativeDriverOptions) {
    this.target = `${opts.host}:${opts.port}`;
    this.now = opts.now ?? Date.now;
  }

  /** Reads are serialized: one session, one outstanding request, even if a caller overlaps two reads. */
  read(signal: AbortSignal): Promise<Reading[]> {
    const next = this.reading.then(
      () => this.readWithRecovery(signal),
      () => this.readWithRecovery(signal),
    );
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async readWithRecovery(signal: AbortSignal): Promise<Reading[]> {
    if (signal.aborted) {
      throw ipmiError(this.target, IpmiErrorCode.ABORTED, 'request aborted', { cause: signal.reason, retryable: false });
    }
    try {
      return await this.readOnce(signal);
    } catch (caught) {
      const err = asIpmiError(caught, this.target);
      // Aborted while waiting for the BMC: its silence may be a session it dropped, which would fail every later
      // read the same way. The next read starts with a new session (the power source chosen is kept).
      if (signal.aborted) {
        this.retireSession('read aborted');
        throw err;
      }
      // A BMC restart or a session timeout on its side shows up as silence or integrity failures: open a new
      // session once, in the same read.
      if (!IpmiSession.isSessionFatal(err) || this.session === undefined) throw err;
      this.opts.logger.info({ err: errorMessage(err) }, 'ipmi session lost, reopening');
      this.dropSession();
      try {
        return await this.readOnce(signal);
      } catch (again) {
        throw asIpmiError(again, this.target);
      }
    }
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s !== undefined) await s.close();
    await Promise.all([...this.closing]);
  }

  /**
   * Forgets the current session and sends its Close Session in the background (best effort, one try of at most
   * 1 s, see {@link IpmiSession.close}): a BMC that dropped it does not answer, and the read should not wait.
   */
  private retireSession(why: string): void {
    const s = this.session;
    if (s === undefined) return;
    this.session = undefined;
    this.opts.logger.debug({ why }, 'ipmi session closed, a new one is opened at the next request');
    const closing = s.close();
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  private dropSession(): void {
    // Close Session even though the session looks lost: after a few dropped packets it is usually still alive on
    // the BMC, which holds only 4-16 of them until its own idle timeout. Sent in the background: a BMC that really
    // dropped it does not answer, and the new session must fit in what is left of the read's deadline.
    this.retireSession('session lost');
    // A restarted BMC may come back with other firmware or SDRs: choose the power source again.
    this.plan = undefined;
    this.sdrSensors = undefined;
  }

  private async ensureSession(signal: AbortSignal): Promise<IpmiSession> {
    const current = this.session;
    if (current?.active === true) {
      if (this.now() - current.lastAnswerMs <= (this.opts.idleReopenMs ?? IDLE_REOPEN_MS)) return current;
      this.retireSession('idle');
    }
    const session = new IpmiSession({
      host: this.opts.host,
      port: this.opts.port,
      user: this.opts.user,
      password: this.opts.password,
      suite: CIPHER_SUITES[this.opts.cipherSuite],
      privilege: this.opts.privilege,
      attempts: this.opts.attempts,
      attemptTimeoutMs: Math.max(100, Math.floor(this.opts.timeoutMs / this.opts.attempts)),
      version: this.opts.version,
      logger: this.opts.logger,
      now: this.now,
    });
    try {
      await session.open(signal);
    } catch (err) {
      // close(), not discard(): a failure after RAKP 4 (Set Session Privilege refused) leaves a session to free.
      await session.close();
      throw err;
    }
    this.session = session;
    return session;
  }

  private async readOnce(signal: AbortSignal): Promise<Reading[]> {
    const session = await this.ensureSession(signal);
    const plan = (this.plan ??= await this.probe(session, signal));
    if (plan.source === 'sdr') return this.readSdr(session, plan.sensors, signal);
    const dcmi = await this.readDcmi(session, signal);
    if ('watts' in dcmi) {
      if (this.dcmiPaused) {
        this.dcmiPaused = false;
        this.opts.logger.warn({ source: 'dcmi' }, 'DCMI power measurement active again; reading DCMI again');
      }
      return [{ sensor: 'power', unit: 'W', value: dcmi.watts, timestampNs: nowNs(), source: 'dcmi' }];
    }
    // A BMC stops measuring for a while (firmware update, power-supply event, just after its own restart). The
    // SDR sum is a different quantity (PSU sensors, not system power), so it only stands in for these polls.
    const { sensors } = await this.powerSensors(session, signal);
    if (!this.dcmiPaused) {
      this.dcmiPaused = true;
      this.opts.logger.warn(
        { source: 'dcmi', reason: dcmi.inactive, fallback: sensors.length > 0 ? 'sdr' : 'none' },
        sensors.length > 0
          ? 'DCMI power measurement not active; reading the SDR power sensors until it is again'
          : 'DCMI power measurement not active and no SDR power sensor to fall back on; retrying DCMI',
      );
    }
    if (sensors.length === 0) {
      throw ipmiError(
        this.target,
        IpmiErrorCode.DCMI_INACTIVE,
        `DCMI power measurement is not active (${dcmi.inactive}) and the BMC has no SDR power sensor`,
      );
    }
    return this.readSdr(session, sensors, signal);
  }

  private async readSdr(session: IpmiSession, sensors: readonly FullSensorRecord[], signal: AbortSignal): Promise<Reading[]> {
    let total = 0;
    let count = 0;
    for (const rec of sensors) {
      const rsp = session.check(
        await session.request(NetFn.SENSOR, Cmd.GET_SENSOR_READING, Buffer.from([rec.sensorNumber]), signal, {
          target: ownerTarget(rec),
          lun: rec.ownerLun,
        }),
        `Get Sensor Reading "${rec.name}"`,
      );
      const reading = decodeSensorReading(rsp.data);
      if (reading.unavailable || !reading.scanningEnabled) continue;
      const value = convertReading(rec, reading.raw);
      if (value === undefined) {
        this.warnUnconvertible(rec);
        continue;
      }
      total += value;
      count++;
    }
    if (count === 0) return [];
    return [{ sensor: 'power', unit: 'W', value: total, timestampNs: nowNs(), source: 'sdr' }];
  }

  private warnUnconvertible(rec: FullSensorRecord): void {
    const reason = unconvertibleReason(rec);
    if (reason === undefined) return;
    const key = `${rec.ownerId}/${rec.ownerLun}/${rec.sensorNumber}/${rec.name}`;
    if (this.unconvertible.has(key)) return;
    this.unconvertible.add(key);
    this.opts.logger.warn(
      { sensor: rec.name, linearization: rec.linearization, analogFormat: rec.analogFormat },
      `power sensor "${rec.name}" left out of the sum: ${reason}`,
    );
  }

  private async readDcmi(session: IpmiSession, signal: AbortSignal): Promise<DcmiResult> {
    const rsp = await session.request(
      NetFn.GROUP_EXT,
      Cmd.DCMI_GET_POWER_READING,
      encodeDcmiGetPowerReading(),
      signal,
      { target: this.opts.bridge },
    );
    if (rsp.completionCode !== 0) return { inactive: 'refused' };
    const reading = decodeDcmiPowerReading(rsp.data);
    if (!reading.active) return { inactive: 'not-active' };
    this.dcmiSeen = true;
    return { watts: reading.currentWatts };
  }

  /**
   * Chooses DCMI when the BMC answers the power reading (active or paused), else the SDR power sensors
   * (explicit list or manufacturer table).
   */
  private async probe(session: IpmiSession, signal: AbortSignal): Promise<Plan> {
    if (this.opts.sensors === undefined) {
      const dcmi = await this.readDcmi(session, signal);
      // "Not active" is an answer of a BMC that measures power over DCMI but is not doing so right now (just after
      // its own restart, say): DCMI is its source, with the SDR sum standing in until it measures again.
      if ('watts' in dcmi || this.dcmiSeen || dcmi.inactive === 'not-active') {
        this.opts.logger.info({ source: 'dcmi' }, 'ipmi power source chosen');
        return { source: 'dcmi' };
      }
    }
    const { manufacturerId, sensors } = await this.powerSensors(session, signal);
    if (sensors.length === 0) {
      const why =
        this.opts.sensors === undefined
          ? `no DCMI power reading and no power sensor known for manufacturer id ${manufacturerId}; ` +
            'list them under "sensors"'
          : `none of the sensors ${this.opts.sensors.join(', ')} is in the SDR repository`;
      throw ipmiError(this.target, IpmiErrorCode.NO_POWER_SOURCE, why, { retryable: false });
    }
    this.opts.logger.info(
      { source: 'sdr', manufacturerId, sensors: sensors.map((s) => s.name) },
      'ipmi power source chosen',
    );
    return { source: 'sdr', sensors };
  }

  /** The SDR power sensors (Get Device ID + SDR walk), once per session. */
  private async powerSensors(
    session: IpmiSession,
    signal: AbortSignal,
  ): Promise<{ manufacturerId: number; sensors: FullSensorRecord[] }> {
    if (this.sdrSensors !== undefined) return this.sdrSensors;
    const device = decodeDeviceId(
      session.check(await session.request(NetFn.APP, Cmd.GET_DEVICE_ID, Buffer.alloc(0), signal), 'Get Device ID').data,
    );
    // The BMC's main SDR repository describes the sensors of every controller; with a bridge target only the
    // sensors that target owns are candidates (ipmitool -t reads them the same way).
    const bridge = this.opts.bridge;
    const records = (await this.walkSdr(session, signal)).filter(
      (r) => bridge === undefined || r.ownerId === bridge.address,
    );
    this.sdrSensors = {
      manufacturerId: device.manufacturerId,
      sensors: selectPowerSensors(records, device.manufacturerId, this.opts.sensors),
    };
    return this.sdrSensors;
  }

  /** Reads every full sensor record of the SDR repository (Reserve SDR Repository + Get SDR, §33.11–12). */
  private async walkSdr(session: IpmiSession, signal: AbortSignal): Promise<FullSensorRecord[]> {
    const reserve = async (): Promise<number> =>
      session
        .check(
          await session.request(NetFn.STORAGE, Cmd.RESERVE_SDR_REPOSITORY, Buffer.alloc(0), signal),
          'Reserve SDR Repository',
        )
        .data.readUInt16LE(0);
    let reservation = await reserve();
    const out: FullSensorRecord[] = [];
    let recordId = 0;
    for (let guard = 0; guard < 4096 && recordId !== 0xffff; guard++) {
      const read = async (offset: number, length: number): Promise<{ next: number; bytes: Buffer }> => {
        for (let retry = 0; ; retry++) {
          const request = encodeGetSdr(reservation, recordId, offset, length);
          const rsp = await session.request(NetFn.STORAGE, Cmd.GET_SDR, request, signal);
          // The reservation is lost whenever the repository changes or another client reserves it.
          if (rsp.completionCode === 0xc5 && retry < 3) {
            reservation = await reserve();
            continue;
          }
          session.check(rsp, `Get SDR ${recordId}`);
          return { next: rsp.data.readUInt16LE(0), bytes: rsp.data.subarray(2) };
        }
      };
      const head = await read(0, 5);
      const length = head.bytes[4] ?? 0;
      const parts = [head.bytes];
      for (let offset = 5; offset < 5 + length; offset += SDR_CHUNK) {
        parts.push((await read(offset, Math.min(SDR_CHUNK, 5 + length - offset))).bytes);
      }
      const rec = parseFullSensorRecord(Buffer.concat(parts));
      if (rec !== undefined) out.push(rec);
      if (head.next === recordId) break;
      recordId = head.next;
    }
    return out;
  }
}
