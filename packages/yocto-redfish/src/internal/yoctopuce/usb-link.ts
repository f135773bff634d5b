import type { UsbTransport } from '../../usb-transport.js';
import {
  USB_CONF_RESET,
  USB_CONF_START,
  USB_PKT_SIZE,
  YPKT_CONF,
  YPKT_STREAM,
  YPKT_USB_VERSION_BCD,
  YSTREAM_TCP,
  YSTREAM_TCP_CLOSE,
  decodePacket,
  encodePacket,
  resetPayload,
  startPayload,
} from './ypkt.js';

/** The device speaks another major protocol version than ours. */
export class YoctoVersionError extends Error {}

/** An HTTP answer tunnelled over USB. */
export interface TunnelledResponse {
  status: number;
  body: Buffer;
}

/**
 * A connection to a Yoctopuce device over its HID interface: RESET/START handshake, then one HTTP request at a
 * time tunnelled in TCP stream chunks, each side ending its half with TCP_CLOSE. Notifications the device
 * interleaves (NOTICE, REPORT, META) are skipped.
 */
export class YoctoUsbLink {
  private pktno = 0;
  private started = false;
  /** Device protocol version from its RESET answer. */
  deviceApi = 0;

  constructor(
    private readonly transport: UsbTransport,
    private readonly timeoutMs: number,
  ) {}

  /** RESET then START; throws `YoctoVersionError` on a major mismatch. */
  async start(): Promise<void> {
    await this.transport.write(
      encodePacket([{ pktno: 0, stream: USB_CONF_RESET, kind: YPKT_CONF, data: resetPayload(YPKT_USB_VERSION_BCD, 1, 0, 0) }]),
      this.timeoutMs,
    );
    const reset = await this.waitConf(USB_CONF_RESET);
    this.deviceApi = (reset[0] ?? 0) | ((reset[1] ?? 0) << 8);
    if ((this.deviceApi & 0xff00) !== (YPKT_USB_VERSION_BCD & 0xff00)) {
      throw new YoctoVersionError(
        `device speaks USB protocol 0x${this.deviceApi.toString(16)}, this driver 0x${YPKT_USB_VERSION_BCD.toString(16)}`,
      );
    }
    const nbIfaces = Math.max(1, reset[4] ?? 1);
    await this.transport.write(
      encodePacket([{ pktno: 0, stream: USB_CONF_START, kind: YPKT_CONF, data: startPayload(nbIfaces) }]),
      this.timeoutMs,
    );
    await this.waitConf(USB_CONF_START);
    this.pktno = 0;
    this.started = true;
  }

  /** Sends `GET <path>` and returns the device's answer. */
  async get(path: string): Promise<TunnelledResponse> {
    if (!this.started) await this.start();
    // yoctolib's own requests: a bare request line, no HTTP version, then an empty line.
    const request = Buffer.from(`GET ${path} \r\n\r\n`, 'latin1');
    for (let pos = 0; pos < request.length; pos += USB_PKT_SIZE - 2) {
      await this.send(YSTREAM_TCP, request.subarray(pos, pos + USB_PKT_SIZE - 2));
    }
    await this.send(YSTREAM_TCP_CLOSE, new Uint8Array(0));
    const parts: Uint8Array[] = [];
    for (let guard = 0; guard < 10_000; guard++) {
      const pkt = await this.transport.read(USB_PKT_SIZE, this.timeoutMs);
      for (const c of decodePacket(pkt)) {
        if (c.kind === YPKT_CONF) {
          // Config packets only belong to the RESET/START handshake: one now means the device restarted its side
          // of the link, so this request's answer will never come. Fail at once; the owner re-opens the link.
          this.started = false;
          throw new Error('device reset the USB link during a request');
        }
        if (c.kind !== YPKT_STREAM) continue;
        if (c.stream === YSTREAM_TCP) parts.push(c.data);
        else if (c.stream === YSTREAM_TCP_CLOSE) {
          parts.push(c.data);
          return parseHttp(Buffer.concat(parts));
        }
      }
    }
    throw new Error('device never closed the TCP stream');
  }

  private async send(stream: number, data: Uint8Array): Promise<void> {
    this.pktno = (this.pktno + 1) & 0x07;
    await this.transport.write(encodePacket([{ pktno: this.pktno, stream, kind: YPKT_STREAM, data }]), this.timeoutMs);
  }

  private async waitConf(which: number): Promise<Uint8Array> {
    for (let i = 0; i < 64; i++) {
      const pkt = await this.transport.read(USB_PKT_SIZE, this.timeoutMs);
      for (const c of decodePacket(pkt)) if (c.kind === YPKT_CONF && c.stream === which) return c.data;
    }
    throw new Error(`no ${which === USB_CONF_RESET ? 'RESET' : 'START'} answer from the device`);
  }
}

/** Splits a tunnelled answer: `HTTP/1.x <status>` or yoctolib's short `0K` status line, headers, body. */
export function parseHttp(raw: Buffer): TunnelledResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = (end < 0 ? raw : raw.subarray(0, end)).toString('latin1');
  const body = end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4);
  const first = head.split('\r\n')[0] ?? '';
  if (/^0K/.test(first)) return { status: 200, body };
  const m = /^HTTP\/\d\.\d\s+(\d{3})/.exec(first);
  if (m === null) throw new Error(`bad tunnelled HTTP status line "${first.slice(0, 40)}"`);
  return { status: Number(m[1]), body };
}
