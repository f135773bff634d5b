import type { Logger, Reading } from '@energyrecorder/core';
import { nowNs } from '@energyrecorder/core';
import { asIpmiError, IpmiErrorCode, ipmiError } from '../errors.js';
import { convertReading, type FullSensorRecord, parseFullSensorRecord, selectPowerSensors } from '../sdr.js';
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
}

/** Sensors owned by another controller than the BMC are read through Send Message to their owner. */
function ownerTarget(rec: FullSensorRecord): RequestTarget | undefined {
  return rec.ownerId === BMC_ADDRESS ? undefined : { address: rec.ownerId, channel: rec.channel };
}

/** How power is read once the BMC was probed. */
type Plan = { source: 'dcmi' } | { source: 'sdr'; sensors: FullSensorRecord[] };

/** Bytes asked per Get SDR call: small enough for every BMC's buffer (§33.12 allows 0FFh, few honour it). */
const SDR_CHUNK = 24;

/** Reads power from a BMC with our own RMCP+ stack; keeps the session across reads. */
export class NativeIpmiDriver {
  private session: IpmiSession | undefined;
  private plan: Plan | undefined;
  private reading: Promise<unknown> = Promise.resolve();
  private readonly target: string;

  constructor(private readonly opts: NativeDriverOptions) {
    this.target = `${opts.host}:${opts.port}`;
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
    try {
      return await this.readOnce(signal);
    } catch (caught) {
      const err = asIpmiError(caught, this.target);
      // A BMC restart or a session timeout on its side shows up as silence or integrity failures: open a new
      // session once, in the same read.
      if (!IpmiSession.isSessionFatal(err) || signal.aborted || this.session === undefined) throw err;
      this.opts.logger.info({ err: errorMessage(err) }, 'ipmi session lost, reopening');
      await this.dropSession();
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
  }

  private async dropSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    // A restarted BMC may come back with other firmware or SDRs: choose the power source again.
    this.plan = undefined;
    if (s !== undefined) await s.discard();
  }

  private async ensureSession(signal: AbortSignal): Promise<IpmiSession> {
    if (this.session?.active === true) return this.session;
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
    let plan: Plan;
    for (let attempt = 0; ; attempt++) {
      plan = this.plan ??= await this.probe(session, signal);
      if (plan.source !== 'dcmi') break;
      const reading = await this.readDcmi(session, signal);
      if (reading !== undefined) return [{ sensor: 'power', unit: 'W', value: reading, timestampNs: nowNs(), source: 'dcmi' }];
      if (attempt > 0) throw ipmiError(this.target, IpmiErrorCode.COMPLETION, 'DCMI power measurement is no longer active');
      // The BMC stopped measuring (or now refuses DCMI): choose the source again, which falls back to the SDR
      // power sensors, instead of failing every read until the session is lost.
      this.opts.logger.warn({ source: 'dcmi' }, 'DCMI power measurement no longer active; choosing the power source again');
      this.plan = undefined;
    }
    let total = 0;
    let count = 0;
    for (const rec of plan.sensors) {
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
      if (value === undefined) continue;
      total += value;
      count++;
    }
    if (count === 0) return [];
    return [{ sensor: 'power', unit: 'W', value: total, timestampNs: nowNs(), source: 'sdr' }];
  }

  /** Watts from DCMI when the BMC answers and measures, else undefined. */
  private async readDcmi(session: IpmiSession, signal: AbortSignal): Promise<number | undefined> {
    const rsp = await session.request(
      NetFn.GROUP_EXT,
      Cmd.DCMI_GET_POWER_READING,
      encodeDcmiGetPowerReading(),
      signal,
      { target: this.opts.bridge },
    );
    if (rsp.completionCode !== 0) return undefined;
    const reading = decodeDcmiPowerReading(rsp.data);
    return reading.active ? reading.currentWatts : undefined;
  }

  /** Chooses DCMI when it is active, else the SDR power sensors (explicit list or manufacturer table). */
  private async probe(session: IpmiSession, signal: AbortSignal): Promise<Plan> {
    if (this.opts.sensors === undefined && (await this.readDcmi(session, signal)) !== undefined) {
      this.opts.logger.info({ source: 'dcmi' }, 'ipmi power source chosen');
      return { source: 'dcmi' };
    }
    const device = decodeDeviceId(
      session.check(await session.request(NetFn.APP, Cmd.GET_DEVICE_ID, Buffer.alloc(0), signal), 'Get Device ID').data,
    );
    // The BMC's main SDR repository describes the sensors of every controller; with a bridge target only the
    // sensors that target owns are candidates (ipmitool -t reads them the same way).
    const bridge = this.opts.bridge;
    const records = (await this.walkSdr(session, signal)).filter(
      (r) => bridge === undefined || r.ownerId === bridge.address,
    );
    const sensors = selectPowerSensors(records, device.manufacturerId, this.opts.sensors);
    if (sensors.length === 0) {
      const why =
        this.opts.sensors === undefined
          ? `no DCMI power reading and no power sensor known for manufacturer id ${device.manufacturerId}; ` +
            'list them under "sensors"'
          : `none of the sensors ${this.opts.sensors.join(', ')} is in the SDR repository`;
      throw ipmiError(this.target, IpmiErrorCode.NO_POWER_SOURCE, why, { retryable: false });
    }
    this.opts.logger.info(
      { source: 'sdr', manufacturerId: device.manufacturerId, sensors: sensors.map((s) => s.name) },
      'ipmi power source chosen',
    );
    return { source: 'sdr', sensors };
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
