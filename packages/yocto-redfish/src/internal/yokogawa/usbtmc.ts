import { UsbTransferError } from '../../errors.js';
import type { UsbTransport } from '../../usb-transport.js';

// USBTMC 1.0 (USB Test & Measurement Class), table 2 (MsgID) and table 15 (class requests).
export const DEV_DEP_MSG_OUT = 1;
export const REQUEST_DEV_DEP_MSG_IN = 2;
export const DEV_DEP_MSG_IN = 2;
export const INITIATE_ABORT_BULK_IN = 3;
export const CHECK_ABORT_BULK_IN_STATUS = 4;
export const INITIATE_CLEAR = 5;
export const CHECK_CLEAR_STATUS = 6;
export const STATUS_SUCCESS = 0x01;
export const STATUS_PENDING = 0x02;
export const STATUS_FAILED = 0x80;
export const STATUS_TRANSFER_NOT_IN_PROGRESS = 0x81;
/** bmRequestType: class request, recipient interface / endpoint, device-to-host. */
export const REQ_TYPE_INTERFACE_IN = 0xa1;
export const REQ_TYPE_ENDPOINT_IN = 0xa2;
export const HEADER_SIZE = 12;

/** Builds a Bulk-OUT DEV_DEP_MSG_OUT transfer: 12-byte header, message, zero padding to a multiple of 4. */
export function encodeDevDepMsgOut(tag: number, message: Uint8Array, eom = true): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + align4(message.length));
  const view = new DataView(out.buffer);
  out[0] = DEV_DEP_MSG_OUT;
  out[1] = tag;
  out[2] = ~tag & 0xff;
  view.setUint32(4, message.length, true);
  out[8] = eom ? 0x01 : 0x00;
  out.set(message, HEADER_SIZE);
  return out;
}

/** Builds a Bulk-OUT REQUEST_DEV_DEP_MSG_IN transfer asking for at most `maxBytes` (no TermChar). */
export function encodeRequestDevDepMsgIn(tag: number, maxBytes: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  out[0] = REQUEST_DEV_DEP_MSG_IN;
  out[1] = tag;
  out[2] = ~tag & 0xff;
  view.setUint32(4, maxBytes, true);
  return out;
}

/** A decoded Bulk-IN DEV_DEP_MSG_IN header. */
export interface DevDepMsgInHeader {
  tag: number;
  transferSize: number;
  eom: boolean;
}

/** Decodes and checks a Bulk-IN header; throws on anything but a well-formed DEV_DEP_MSG_IN. */
export function decodeDevDepMsgInHeader(buf: Uint8Array): DevDepMsgInHeader {
  if (buf.length < HEADER_SIZE) throw new Error(`Bulk-IN header too short (${buf.length} bytes)`);
  const msgId = buf[0] as number;
  const tag = buf[1] as number;
  const inverse = buf[2] as number;
  if (msgId !== DEV_DEP_MSG_IN) throw new Error(`unexpected MsgID ${msgId} in Bulk-IN header`);
  if ((~tag & 0xff) !== inverse) throw new Error(`bTagInverse 0x${inverse.toString(16)} does not match bTag ${tag}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { tag, transferSize: view.getUint32(4, true), eom: ((buf[8] as number) & 0x01) === 0x01 };
}

export const align4 = (n: number): number => (n + 3) & ~3;

/** A USBTMC protocol violation by the device (bad header, wrong tag). */
export class UsbtmcProtocolError extends Error {}

/**
 * One USBTMC session over a transport: message framing, bTag cycling 1..255, multi-transfer responses, and the
 * clear/abort recovery of USBTMC 1.0 §4.2.1. Not re-entrant: callers serialise queries.
 */
export class UsbtmcSession {
  private tag = 0;
  /** Largest response chunk asked for in one REQUEST_DEV_DEP_MSG_IN. */
  private readonly chunk: number;

  constructor(
    private readonly transport: UsbTransport,
    private readonly timeoutMs: number,
    options: { chunkBytes?: number } = {},
  ) {
    this.chunk = options.chunkBytes ?? 4096;
  }

  /** The bTag the next transfer will carry (for tests and logs). */
  get lastTag(): number {
    return this.tag;
  }

  private nextTag(): number {
    // bTag 0 is reserved (USBTMC 1.0 table 1): cycle 1..255.
    this.tag = this.tag >= 255 ? 1 : this.tag + 1;
    return this.tag;
  }

  /** Sends one command (a newline is added when missing). */
  async write(command: string): Promise<void> {
    const text = command.endsWith('\n') ? command : `${command}\n`;
    await this.transport.write(encodeDevDepMsgOut(this.nextTag(), new TextEncoder().encode(text)), this.timeoutMs);
  }

  /** Reads one complete response (until EOM), as text without the trailing newline. */
  async read(): Promise<string> {
    const parts: Uint8Array[] = [];
    for (let guard = 0; guard < 1024; guard++) {
      const tag = this.nextTag();
      await this.transport.write(encodeRequestDevDepMsgIn(tag, this.chunk), this.timeoutMs);
      let header: DevDepMsgInHeader;
      let payload: Uint8Array;
      try {
        ({ header, payload } = await this.readTransfer(tag));
      } catch (err) {
        await this.recoverBulkIn(tag);
        throw err;
      }
      parts.push(payload);
      if (header.eom) break;
    }
    const total = Buffer.concat(parts);
    return total.toString('latin1').replace(/\r?\n$/, '');
  }

  /** Writes a query and reads its response. */
  async query(command: string): Promise<string> {
    await this.write(command);
    return this.read();
  }

  /** Reads the packets of one Bulk-IN transfer: header, TransferSize bytes, alignment padding. */
  private async readTransfer(tag: number): Promise<{ header: DevDepMsgInHeader; payload: Uint8Array }> {
    const want = HEADER_SIZE + align4(this.chunk);
    let buf = await this.transport.read(want, this.timeoutMs);
    while (buf.length < HEADER_SIZE) {
      // A header split over packets only happens with tiny packets; keep reading.
      buf = concat(buf, await this.transport.read(want, this.timeoutMs));
    }
    const header = decodeDevDepMsgInHeader(buf);
    if (header.tag !== tag) throw new UsbtmcProtocolError(`Bulk-IN bTag ${header.tag}, expected ${tag}`);
    if (header.transferSize > this.chunk) {
      throw new UsbtmcProtocolError(`device sent ${header.transferSize} bytes, more than the ${this.chunk} asked`);
    }
    const needed = HEADER_SIZE + header.transferSize;
    // Short reads: the device may split the transfer into several max-packet-size pieces.
    while (buf.length < needed) {
      const more = await this.transport.read(want - buf.length, this.timeoutMs);
      if (more.length === 0) throw new UsbtmcProtocolError('device ended the transfer before TransferSize bytes');
      buf = concat(buf, more);
    }
    // Alignment bytes may follow in the same packet or, rarely, in one more; a full packet means more is coming.
    if (buf.length < HEADER_SIZE + align4(header.transferSize) && buf.length % this.transport.maxPacketSize === 0) {
      await this.transport.read(this.transport.maxPacketSize, this.timeoutMs).catch(() => undefined);
    }
    return { header, payload: buf.subarray(HEADER_SIZE, needed) };
  }

  /**
   * USBTMC 1.0 §4.2.1.4: INITIATE_ABORT_BULK_IN for the failed bTag, drain the IN endpoint, poll
   * CHECK_ABORT_BULK_IN_STATUS; if the device has no transfer in progress, fall back to a full INITIATE_CLEAR.
   */
  async recoverBulkIn(tag: number): Promise<void> {
    try {
      const setup = { requestType: REQ_TYPE_ENDPOINT_IN, request: INITIATE_ABORT_BULK_IN, value: tag, index: this.transport.inEndpoint };
      const status = (await this.transport.controlIn(setup, 2, this.timeoutMs))[0];
      if (status === STATUS_SUCCESS) {
        await this.drainIn();
        for (let i = 0; i < 50; i++) {
          const check = await this.transport.controlIn(
            { requestType: REQ_TYPE_ENDPOINT_IN, request: CHECK_ABORT_BULK_IN_STATUS, value: 0, index: this.transport.inEndpoint },
            8,
            this.timeoutMs,
          );
          if (check[0] !== STATUS_PENDING) return;
          await this.drainIn();
        }
        return;
      }
    } catch (err) {
      if (err instanceof UsbTransferError && err.failure === 'gone') throw err;
    }
    await this.clear();
  }

  /** USBTMC 1.0 §4.2.1.6: INITIATE_CLEAR, poll CHECK_CLEAR_STATUS (draining when asked), clear the OUT halt. */
  async clear(): Promise<void> {
    const index = this.transport.interfaceNumber;
    const status = (
      await this.transport.controlIn({ requestType: REQ_TYPE_INTERFACE_IN, request: INITIATE_CLEAR, value: 0, index }, 1, this.timeoutMs)
    )[0];
    if (status !== STATUS_SUCCESS) throw new UsbtmcProtocolError(`INITIATE_CLEAR answered status 0x${(status ?? 0).toString(16)}`);
    for (let i = 0; i < 50; i++) {
      const check = await this.transport.controlIn(
        { requestType: REQ_TYPE_INTERFACE_IN, request: CHECK_CLEAR_STATUS, value: 0, index },
        2,
        this.timeoutMs,
      );
      if (check[0] !== STATUS_PENDING) break;
      // bmClear bit 0: the device still has Bulk-IN data queued that must be read out.
      if (((check[1] ?? 0) & 0x01) === 0x01) await this.drainIn();
    }
    await this.transport.clearHalt('out');
  }

  private async drainIn(): Promise<void> {
    for (let i = 0; i < 64; i++) {
      let pkt: Uint8Array;
      try {
        pkt = await this.transport.read(this.transport.maxPacketSize, Math.min(this.timeoutMs, 200));
      } catch {
        return;
      }
      if (pkt.length < this.transport.maxPacketSize) return;
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
