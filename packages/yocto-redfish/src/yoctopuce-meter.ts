import { NS_PER_MS, noopLogger, type Logger } from '@energyrecorder/core';
import { MeterError } from './errors.js';
import { meterCall } from './internal/meter-call.js';
import type { Meter, MeterIdentity, MeterReading } from './meter.js';
import type { UsbOpener, UsbTransport } from './usb-transport.js';
import { openNodeUsb } from './internal/usb/node-usb.js';
import { YoctoUsbLink, YoctoVersionError } from './internal/yoctopuce/usb-link.js';
import { parseMeasureJson, parsePowerJson } from './internal/yoctopuce/power-json.js';
import { authorizationHeader, parseChallenge, splitHubUrl, type HubChallenge } from './internal/yoctopuce/hub-auth.js';

/** Yoctopuce's USB vendor id. */
export const YOCTOPUCE_VENDOR_ID = 0x24e0;

/** Options of {@link YoctopuceMeter}. */
export interface YoctopuceMeterOptions {
  /** Device serial number, e.g. `YWATTMK1-12345`. Required for a hub; the first device over USB when absent. */
  serialNumber?: string;
  /**
   * VirtualHub / YoctoHub base URL (`http://127.0.0.1:4444`); direct USB HID when absent. Credentials written in
   * it (`http://user:pass@host:4444`) are taken out of the URL and used as `user`/`password`.
   */
  hubUrl?: string;
  /**
   * Credentials for a protected hub. The hub's 401 challenge decides how they are sent: HTTP Digest (MD5, what
   * the VirtualHub and YoctoHubs use) or Basic. They override credentials written in `hubUrl`.
   */
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
  /** The hub base URL without credentials nor trailing slash. */
  private readonly hubBase: string | undefined;
  private readonly credentials: { user: string; password: string } | undefined;
  /** The hub's last challenge, answered up front on later requests; `nc` counts the uses of its nonce. */
  private challenge: { challenge: HubChallenge; nc: number } | undefined;

  constructor(options: YoctopuceMeterOptions) {
    this.opts = options;
    const serial = options.serialNumber ?? 'first';
    const hub = options.hubUrl === undefined ? undefined : splitHubUrl(options.hubUrl);
    this.hubBase = hub?.base;
    const user = options.user ?? hub?.user;
    const password = options.user !== undefined || options.password !== undefined ? options.password : hub?.password;
    this.credentials = user === undefined ? undefined : { user, password: password ?? '' };
    this.target = hub === undefined ? `usb:${serial}` : `${hub.base}#${serial}`;
    this.log = options.logger ?? noopLogger;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    try {
      if (this.hubBase === undefined) {
        const opener = this.opts.openUsb ?? openNodeUsb;
        signal.throwIfAborted();
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
        signal.throwIfAborted();
        await this.wrap(() => link.start());
        this.log.debug({ api: link.deviceApi }, 'yoctopuce usb link started');
      }
      const module = await this.getJson('module', signal);
      // An open that overran its deadline stops here and releases the device (see the catch).
      signal.throwIfAborted();
      const m = (typeof module === 'object' && module !== null ? module : {}) as Record<string, unknown>;
      const serial = typeof m['serialNumber'] === 'string' ? m['serialNumber'] : (this.opts.serialNumber ?? this.transport?.serialNumber);
      return {
        manufacturer: 'Yoctopuce',
        model: typeof m['productName'] === 'string' ? m['productName'] : 'Yocto-Watt',
        ...(serial === undefined ? {} : { serialNumber: serial }),
        ...(typeof m['firmwareRelease'] === 'string' ? { firmwareVersion: m['firmwareRelease'] } : {}),
      };
    } catch (err) {
      // Whatever step failed (or was aborted), the device must not stay claimed.
      await this.close();
      throw err instanceof MeterError ? err : this.meterError(err);
    }
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
    if (this.hubBase !== undefined) {
      if (this.opts.serialNumber === undefined) {
        throw new MeterError('serial is required with hub_url', { driver: this.driver, target: this.target, retryable: false });
      }
      const url = `${this.hubBase}/bySerial/${encodeURIComponent(this.opts.serialNumber)}${path}`;
      let res = await this.hubGet(url, signal);
      if (res.status === 401 && this.credentials !== undefined) {
        // First request, or the nonce expired: answer the hub's challenge and try once more.
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        await res.arrayBuffer().catch(() => undefined);
        if (challenge === undefined) {
          throw new MeterError(`hub asks for an authentication it does not name or that is not supported (${res.headers.get('www-authenticate') ?? 'no WWW-Authenticate'})`, {
            driver: this.driver,
            target: this.target,
            retryable: false,
          });
        }
        this.challenge = { challenge, nc: 0 };
        res = await this.hubGet(url, signal);
      }
      const text = await this.wrap(() => res.text());
      if (res.status === 401) {
        this.challenge = undefined;
        throw new MeterError(
          this.credentials === undefined ? 'hub requires credentials: set user and pass' : 'hub refused the credentials (user/pass)',
          { driver: this.driver, target: this.target },
        );
      }
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

  /** One GET to the hub, answering its last challenge up front when there is one. */
  private hubGet(url: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.challenge !== undefined && this.credentials !== undefined) {
      this.challenge.nc++;
      const u = new URL(url);
      headers['authorization'] = authorizationHeader(this.challenge.challenge, this.credentials, {
        method: 'GET',
        uri: `${u.pathname}${u.search}`,
        nc: this.challenge.nc,
      });
    }
    return this.wrap(() => fetch(url, { headers, signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs ?? 5000)]) }));
  }

  private meterError(err: unknown): MeterError {
    return new MeterError(err instanceof Error ? err.message : String(err), { driver: this.driver, target: this.target, cause: err });
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
