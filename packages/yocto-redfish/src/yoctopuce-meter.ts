import { NS_PER_MS, noopLogger, type Logger } from '@energyrecorder/core';
import { MeterError } from './errors.js';
import { meterCall } from './internal/meter-call.js';
import type { Meter, MeterIdentity, MeterReading } from './meter.js';
import type { UsbOpener, UsbTransport } from './usb-transport.js';
import { openNodeUsb } from './internal/usb/node-usb.js';
import { YoctoUsbLink, YoctoVersionError } from './internal/yoctopuce/usb-link.js';
import { parseMeasureJson, parsePowerJson } from './internal/yoctopuce/power-json.js';

/** Yoctopuce's USB vendor id. */
export const YOCTOPUCE_VENDOR_ID = 0x24e0;

/** Options of {@link YoctopuceMeter}. */
export interface YoctopuceMeterOptions {
  /** Device serial number, e.g. `YWATTMK1-12345`. Required for a hub; the first device over USB when absent. */
  serialNumber?: string;
  /** VirtualHub / YoctoHub base URL (`http://127.0.0.1:4444`); direct USB HID when absent. */
  hubUrl?: string;
  /** Basic credentials for the hub, when it asks for them. */
  user?: string;
  password?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Also read `voltage1` and `current1` (two more requests per reading). */
  readElectrical?: boolean;
  openUsb?: UsbOpener;
  logger?: Logger;
}

/**
 * Yoctopuce Yocto-Watt through a VirtualHub/YoctoHub over HTTP, or directly over USB HID. Reads the `power`
 * function (16.16 fixed point `currentValue`, `meter` in Wh), and optionally `voltage1`/`current1`.
 */
export class YoctopuceMeter implements Meter {
  readonly driver = 'yoctopuce';
  readonly target: string;
  private readonly opts: YoctopuceMeterOptions;
  private readonly log: Logger;
  private transport: UsbTransport | undefined;
  private link: YoctoUsbLink | undefined;

  constructor(options: YoctopuceMeterOptions) {
    this.opts = options;
    const serial = options.serialNumber ?? 'first';
    this.target = options.hubUrl === undefined ? `usb:${serial}` : `${stripCredentials(options.hubUrl)}#${serial}`;
    this.log = options.logger ?? noopLogger;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    if (this.opts.hubUrl === undefined) {
      const opener = this.opts.openUsb ?? openNodeUsb;
      const transport = await this.wrap(() =>
        opener(
          {
            vendorId: YOCTOPUCE_VENDOR_ID,
            ...(this.opts.serialNumber === undefined ? {} : { serialNumber: this.opts.serialNumber }),
            interfaceClass: 0x03,
            transferType: 'interrupt',
          },
          signal,
        ),
      );
      this.transport = transport;
      const link = new YoctoUsbLink(transport, this.opts.timeoutMs ?? 2000);
      this.link = link;
      try {
        await this.wrap(() => link.start());
      } catch (err) {
        await this.close();
        throw err;
      }
      this.log.debug({ api: link.deviceApi }, 'yoctopuce usb link started');
    }
    const module = await this.getJson('module', signal);
    const m = (typeof module === 'object' && module !== null ? module : {}) as Record<string, unknown>;
    const serial = typeof m['serialNumber'] === 'string' ? m['serialNumber'] : (this.opts.serialNumber ?? this.transport?.serialNumber);
    return {
      manufacturer: 'Yoctopuce',
      model: typeof m['productName'] === 'string' ? m['productName'] : 'Yocto-Watt',
      ...(serial === undefined ? {} : { serialNumber: serial }),
      ...(typeof m['firmwareRelease'] === 'string' ? { firmwareVersion: m['firmwareRelease'] } : {}),
    };
  }

  async read(signal: AbortSignal): Promise<MeterReading> {
    const power = parsePowerJson(await this.getJson('power', signal));
    if (power === undefined) {
      throw new MeterError('power.json has no usable currentValue', { driver: this.driver, target: this.target, code: 'ER_METER_NO_DATA' });
    }
    const reading: MeterReading = { powerWatts: power.powerWatts, timestampNs: Date.now() * NS_PER_MS };
    if (power.energyWh !== undefined) reading.energyWh = power.energyWh;
    if (this.opts.readElectrical === true) {
      const v = parseMeasureJson(await this.getJson('voltage1', signal));
      const i = parseMeasureJson(await this.getJson('current1', signal));
      if (v !== undefined) reading.voltageVolts = v;
      if (i !== undefined) reading.currentAmps = i;
    }
    return reading;
  }

  async close(): Promise<void> {
    const t = this.transport;
    this.transport = undefined;
    this.link = undefined;
    if (t !== undefined) await t.close().catch(() => undefined);
  }

  private async getJson(fn: string, signal: AbortSignal): Promise<unknown> {
    const path = `/api/${fn}.json`;
    if (this.opts.hubUrl !== undefined) {
      if (this.opts.serialNumber === undefined) {
        throw new MeterError('serial is required with hub_url', { driver: this.driver, target: this.target, retryable: false });
      }
      const url = `${this.opts.hubUrl.replace(/\/+$/, '')}/bySerial/${encodeURIComponent(this.opts.serialNumber)}${path}`;
      const headers: Record<string, string> = {};
      if (this.opts.user !== undefined) {
        headers['authorization'] = `Basic ${Buffer.from(`${this.opts.user}:${this.opts.password ?? ''}`).toString('base64')}`;
      }
      const res = await this.wrap(() =>
        fetch(url, { headers, signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs ?? 5000)]) }),
      );
      const text = await this.wrap(() => res.text());
      if (res.status === 404) {
        throw new MeterError(`hub does not know ${this.opts.serialNumber}/${fn}`, { driver: this.driver, target: this.target, code: 'ER_METER_NOT_FOUND' });
      }
      if (!res.ok) throw new MeterError(`hub answered ${res.status}`, { driver: this.driver, target: this.target });
      return parseJson(text, this);
    }
    const link = this.link;
    if (link === undefined) throw new MeterError('meter is not open', { driver: this.driver, target: this.target });
    signal.throwIfAborted();
    const res = await this.wrap(() => link.get(path));
    if (res.status !== 200) throw new MeterError(`device answered ${res.status} for ${path}`, { driver: this.driver, target: this.target });
    return parseJson(res.body.toString('utf8'), this);
  }

  private wrap<T>(fn: () => Promise<T>): Promise<T> {
    return meterCall(this, fn, (err) => (err instanceof YoctoVersionError ? { code: 'ER_METER_VERSION', retryable: false } : undefined));
  }
}

function parseJson(text: string, meter: YoctopuceMeter): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MeterError('device answered invalid JSON', { driver: meter.driver, target: meter.target, code: 'ER_METER_PROTOCOL', cause: err });
  }
}

function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
