import { NS_PER_MS, noopLogger, type Logger } from '@energyrecorder/core';
import { MeterError } from './errors.js';
import { meterCall } from './internal/meter-call.js';
import type { Meter, MeterIdentity, MeterReading } from './meter.js';
import type { UsbOpener, UsbTransport } from './usb-transport.js';
import { UsbtmcSession, UsbtmcProtocolError } from './internal/yokogawa/usbtmc.js';
import { parseIdn, parseIntegratorState, parseValues, readQuery, setupCommands, type YokogawaFamily } from './internal/yokogawa/scpi.js';
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
  /**
   * How often a WT310-family meter's integrator state is asked again while reading, in ms (default 10 000): its
   * `WP` counter is used only while the integrator runs, and it can be stopped, reset or time out at any moment.
   */
  integratorCheckMs?: number;
  /** Time source of the integrator checks, in ms. Defaults to `Date.now`. */
  clock?: () => number;
}

/** Defaults of {@link YokogawaMeterOptions}. */
export const DEFAULT_YOKOGAWA_METER_OPTIONS = Object.freeze({ timeoutMs: 2000, integratorCheckMs: 10_000 });

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
  private integratorCheckedMs = Number.NEGATIVE_INFINITY;
  private readonly clock: () => number;

  constructor(options: YokogawaMeterOptions = {}) {
    this.opts = options;
    this.target = options.serialNumber === undefined ? 'usb:yokogawa' : `usb:${options.serialNumber}`;
    this.log = options.logger ?? noopLogger;
    this.clock = options.clock ?? Date.now;
  }

  async open(signal: AbortSignal): Promise<MeterIdentity> {
    const opener = this.opts.openUsb ?? openNodeUsb;
    // Every step checks the signal first: an open that overran its deadline stops at the next step and closes
    // what it opened, instead of leaving the device claimed (a second claim fails with LIBUSB_ERROR_BUSY).
    const step = <T>(fn: () => Promise<T>): Promise<T> =>
      this.wrap(async () => {
        signal.throwIfAborted();
        return fn();
      });
    const transport = await step(() =>
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
    const session = new UsbtmcSession(transport, this.opts.timeoutMs ?? DEFAULT_YOKOGAWA_METER_OPTIONS.timeoutMs);
    try {
      // A previous process may have left a half-read answer queued: start from a clean state.
      await step(() => session.clear()).catch(async (err: unknown) => {
        // A device that cannot even clear is wedged; a port reset makes it re-enumerate clean for the next open.
        const gone = err instanceof MeterError && err.code === 'ER_METER_NOT_FOUND';
        if (!gone && !signal.aborted) await transport.reset().catch(() => undefined);
        throw err;
      });
      const idnText = await step(() => session.query('*IDN?'));
      const idn = parseIdn(idnText);
      if (idn === undefined) {
        throw new MeterError(`not a supported YOKOGAWA meter: "${idnText}"`, {
          driver: this.driver,
          target: this.target,
          code: 'ER_METER_PROTOCOL',
          retryable: false,
        });
      }
      for (const cmd of setupCommands(idn.family)) await step(() => session.write(cmd));
      const useMeterEnergy = idn.family === 'wt310' ? await this.integratorRunning(session, step) : false;
      signal.throwIfAborted();
      // Only a complete open is kept: read() and close() see the transport from here on.
      this.family = idn.family;
      this.useMeterEnergy = useMeterEnergy;
      this.integratorCheckedMs = this.clock();
      this.transport = transport;
      this.session = session;
      this.log.debug({ model: idn.model, meterEnergy: this.useMeterEnergy }, 'yokogawa meter identified');
      return {
        manufacturer: 'YOKOGAWA',
        model: idn.model,
        ...(idn.serialNumber === undefined ? {} : { serialNumber: idn.serialNumber }),
        ...(idn.firmwareVersion === undefined ? {} : { firmwareVersion: idn.firmwareVersion }),
      };
    } catch (err) {
      await transport.close().catch(() => undefined);
      throw err;
    }
  }

  async read(signal: AbortSignal): Promise<MeterReading> {
    signal.throwIfAborted();
    const session = this.session;
    if (session === undefined) throw new MeterError('meter is not open', { driver: this.driver, target: this.target });
    const step = <T>(fn: () => Promise<T>): Promise<T> => this.wrap(fn);
    if (this.family === 'wt310' && this.clock() - this.integratorCheckedMs >= (this.opts.integratorCheckMs ?? DEFAULT_YOKOGAWA_METER_OPTIONS.integratorCheckMs)) {
      // The integrator can be stopped, reset or time out on the front panel at any moment: ask again.
      const running = await this.integratorRunning(session, step);
      if (running !== this.useMeterEnergy) this.log.info({ meterEnergy: running }, 'yokogawa integrator state changed');
      this.useMeterEnergy = running;
      this.integratorCheckedMs = this.clock();
    }
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

  /** Whether the WT310 integrator runs, so that its WP counter counts (`START`, or `STAR` in short form). */
  private async integratorRunning(session: UsbtmcSession, step: <T>(fn: () => Promise<T>) => Promise<T>): Promise<boolean> {
    return parseIntegratorState(await step(() => session.query(':INTEGrate:STATe?'))) === 'start';
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
