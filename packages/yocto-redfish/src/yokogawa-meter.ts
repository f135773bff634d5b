import { NS_PER_MS, noopLogger, type Logger } from '@energyrecorder/core';
import { MeterError } from './errors.js';
import { meterCall } from './internal/meter-call.js';
import type { Meter, MeterIdentity, MeterReading } from './meter.js';
import type { UsbOpener, UsbTransport } from './usb-transport.js';
import { UsbtmcSession, UsbtmcProtocolError } from './internal/yokogawa/usbtmc.js';
import { parseIdn, parseValues, readQuery, setupCommands, type YokogawaFamily } from './internal/yokogawa/scpi.js';
import { openNodeUsb } from './internal/usb/node-usb.js';

/** YOKOGAWA's USB vendor id. */
export const YOKOGAWA_VENDOR_ID = 0x0b21;

/** Options of {@link YokogawaMeter}. */
export interface YokogawaMeterOptions {
  /** USB serial number of the meter; the first YOKOGAWA USBTMC device when absent. */
  serialNumber?: string;
  vendorId?: number;
  productIds?: readonly number[];
  /** Per-transfer timeout. */
  timeoutMs?: number;
  /** Opens the USB device; defaults to libusb through the `usb` package. */
  openUsb?: UsbOpener;
  logger?: Logger;
}

/**
 * YOKOGAWA WT210 / WT310 / WT330 spoken to directly over USBTMC. The model is detected from `*IDN?`; the
 * meter's own integrated energy (WP) is used only when its integrator is running, otherwise the service
 * integrates power.
 */
export class YokogawaMeter implements Meter {
  readonly driver = 'yokogawa';
  readonly target: string;
  private readonly opts: YokogawaMeterOptions;
  private readonly log: Logger;
  private transport: UsbTransport | undefined;
  private session: UsbtmcSession | undefined;
  private family: YokogawaFamily = 'wt310';
  private useMeterEnergy = false;

  constructor(options: YokogawaMeterOptions = {}) {
    this.opts = options;
    this.target = options.serialNumber === undefined ? 'usb:yokogawa' : `usb:${options.serialNumber}`;
    this.log = options.logger ?? noopLogger;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    const opener = this.opts.openUsb ?? openNodeUsb;
    const transport = await this.wrap(() =>
      opener(
        {
          vendorId: this.opts.vendorId ?? YOKOGAWA_VENDOR_ID,
          ...(this.opts.productIds === undefined ? {} : { productIds: this.opts.productIds }),
          ...(this.opts.serialNumber === undefined ? {} : { serialNumber: this.opts.serialNumber }),
          interfaceClass: 0xfe,
          transferType: 'bulk',
        },
        signal,
      ),
    );
    this.transport = transport;
    const session = new UsbtmcSession(transport, this.opts.timeoutMs ?? 2000);
    this.session = session;
    try {
      // A previous process may have left a half-read answer queued: start from a clean state.
      await this.wrap(() => session.clear()).catch(async (err: unknown) => {
        // A device that cannot even clear is wedged; a port reset makes it re-enumerate clean for the next open.
        if (!(err instanceof MeterError && err.code === 'ER_METER_NOT_FOUND')) await transport.reset().catch(() => undefined);
        throw err;
      });
      const idnText = await this.wrap(() => session.query('*IDN?'));
      const idn = parseIdn(idnText);
      if (idn === undefined) {
        throw new MeterError(`not a supported YOKOGAWA meter: "${idnText}"`, {
          driver: this.driver,
          target: this.target,
          code: 'ER_METER_PROTOCOL',
          retryable: false,
        });
      }
      this.family = idn.family;
      for (const cmd of setupCommands(idn.family)) await this.wrap(() => session.write(cmd));
      this.useMeterEnergy = false;
      if (idn.family === 'wt310') {
        const state = await this.wrap(() => session.query(':INTEGrate:STATe?'));
        this.useMeterEnergy = /^START/i.test(state.trim());
      }
      this.log.debug({ model: idn.model, meterEnergy: this.useMeterEnergy }, 'yokogawa meter identified');
      return {
        manufacturer: 'YOKOGAWA',
        model: idn.model,
        ...(idn.serialNumber === undefined ? {} : { serialNumber: idn.serialNumber }),
        ...(idn.firmwareVersion === undefined ? {} : { firmwareVersion: idn.firmwareVersion }),
      };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async read(signal: AbortSignal): Promise<MeterReading> {
    signal.throwIfAborted();
    const session = this.session;
    if (session === undefined) throw new MeterError('meter is not open', { driver: this.driver, target: this.target });
    const answer = await this.wrap(() => session.query(readQuery(this.family)));
    const v = parseValues(this.family, answer);
    if (v.power === undefined) {
      throw new MeterError(`no active power in "${answer}"`, { driver: this.driver, target: this.target, code: 'ER_METER_NO_DATA' });
    }
    return {
      powerWatts: v.power,
      ...(v.voltage === undefined ? {} : { voltageVolts: v.voltage }),
      ...(v.current === undefined ? {} : { currentAmps: v.current }),
      ...(this.useMeterEnergy && v.energyWh !== undefined ? { energyWh: v.energyWh } : {}),
      timestampNs: Date.now() * NS_PER_MS,
    };
  }

  async close(): Promise<void> {
    const t = this.transport;
    this.transport = undefined;
    this.session = undefined;
    if (t !== undefined) await t.close().catch(() => undefined);
  }

  /** Maps transport and protocol failures to `MeterError`s naming this meter. */
  private wrap<T>(fn: () => Promise<T>): Promise<T> {
    return meterCall(this, fn, (err) => (err instanceof UsbtmcProtocolError ? { code: 'ER_METER_PROTOCOL' } : undefined));
  }
}
