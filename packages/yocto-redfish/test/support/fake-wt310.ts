import { UsbTransferError } from '../../src/errors.js';
import type { UsbOpener, UsbTransport } from '../../src/usb-transport.js';

/** What a {@link FakeWt310} answers and how slowly; tests change it between calls. */
export interface FakeWt310State {
  /** `:INTEGrate:STATe?` answer. */
  integrator: string;
  /** `:NUMeric:NORMal:VALue?` answer. */
  values: string;
  /** Delay of each USBTMC class request (INITIATE_CLEAR, CHECK_CLEAR_STATUS), in ms. */
  controlDelayMs: number;
}

/**
 * A WT310 behind a USB interface that can be claimed once, as libusb does: a second open while the first
 * transport is not closed fails with LIBUSB_ERROR_BUSY. Speaks just enough USBTMC for the driver.
 */
export class FakeWt310 {
  readonly state: FakeWt310State = {
    integrator: 'RESET',
    values: '2.3000E+02,8.7000E-01,2.0000E+02,0.0000E+00',
    controlDelayMs: 0,
  };
  /** Every command the driver wrote, in order. */
  readonly commands: string[] = [];
  claimed = false;
  opens = 0;
  closes = 0;
  busyRefusals = 0;

  readonly open: UsbOpener = async () => {
    if (this.claimed) {
      this.busyRefusals++;
      throw new UsbTransferError('io', 'claim interface: LIBUSB_ERROR_BUSY');
    }
    this.claimed = true;
    this.opens++;
    return this.transport();
  };

  private transport(): UsbTransport {
    let closed = false;
    let lastCmd = '';
    let tag = 0;
    const check = (): void => {
      if (closed) throw new UsbTransferError('gone', 'transport closed');
    };
    return {
      description: 'fake wt310',
      serialNumber: 'C2QD1',
      interfaceNumber: 0,
      inEndpoint: 0x81,
      outEndpoint: 0x02,
      maxPacketSize: 512,
      write: async (d) => {
        check();
        tag = d[1] as number;
        if (d[0] === 1) {
          const n = new DataView(d.buffer, d.byteOffset).getUint32(4, true);
          lastCmd = Buffer.from(d.subarray(12, 12 + n)).toString().trim();
          this.commands.push(lastCmd);
        }
      },
      read: async () => {
        check();
        const answer =
          lastCmd === '*IDN?' ? 'YOKOGAWA,WT310,C2QD1,F1.03' : lastCmd === ':INTEGrate:STATe?' ? this.state.integrator : this.state.values;
        const text = Buffer.from(`${answer}\n`);
        const out = Buffer.alloc(12 + ((text.length + 3) & ~3));
        out[0] = 2;
        out[1] = tag;
        out[2] = ~tag & 0xff;
        out.writeUInt32LE(text.length, 4);
        out[8] = 1;
        text.copy(out, 12);
        return new Uint8Array(out);
      },
      controlIn: async (setup) => {
        if (this.state.controlDelayMs > 0) await new Promise((r) => setTimeout(r, this.state.controlDelayMs));
        check();
        return setup.request === 5 ? new Uint8Array([1]) : new Uint8Array([1, 0]);
      },
      clearHalt: async () => check(),
      reset: async () => undefined,
      close: async () => {
        if (closed) return;
        closed = true;
        this.closes++;
        this.claimed = false;
      },
    };
  }
}
