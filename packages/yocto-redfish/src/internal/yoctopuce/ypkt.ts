// Yoctopuce USB framing (yoctolib yapi/yproto.h): every HID report is 64 bytes of stream chunks, each with a
// 2-byte head. Byte 0: pktno (bits 0-2), stream (bits 3-7). Byte 1: pkt kind (bits 0-1), size (bits 2-7).

export const USB_PKT_SIZE = 64;
export const YPKT_STREAM = 0;
export const YPKT_CONF = 1;
export const USB_CONF_RESET = 0;
export const USB_CONF_START = 1;
export const YSTREAM_EMPTY = 0;
export const YSTREAM_TCP = 1;
export const YSTREAM_TCP_CLOSE = 2;
export const YSTREAM_NOTICE = 3;
export const YSTREAM_REPORT = 4;
export const YSTREAM_META = 5;
/** Protocol version we speak; a device with another major (high byte) is refused. */
export const YPKT_USB_VERSION_BCD = 0x0208;

/** One chunk of a packet. */
export interface YChunk {
  pktno: number;
  stream: number;
  kind: number;
  data: Uint8Array;
}

/** Packs chunks into one 64-byte packet, filling the rest with an EMPTY stream chunk. */
export function encodePacket(chunks: readonly YChunk[]): Uint8Array {
  const out = new Uint8Array(USB_PKT_SIZE);
  let pos = 0;
  for (const c of chunks) {
    if (c.data.length > 0x3f || pos + 2 + c.data.length > USB_PKT_SIZE) throw new RangeError('chunk does not fit the packet');
    out[pos++] = (c.pktno & 0x07) | ((c.stream & 0x1f) << 3);
    out[pos++] = (c.kind & 0x03) | ((c.data.length & 0x3f) << 2);
    out.set(c.data, pos);
    pos += c.data.length;
  }
  const rest = USB_PKT_SIZE - pos;
  if (rest >= 2) {
    out[pos++] = (YSTREAM_EMPTY << 3) & 0xff;
    out[pos] = (YPKT_STREAM | ((rest - 2) << 2)) & 0xff;
  }
  return out;
}

/** Splits a packet into its chunks; a size running past the packet end is a framing error. */
export function decodePacket(pkt: Uint8Array): YChunk[] {
  const chunks: YChunk[] = [];
  let pos = 0;
  while (pos + 2 <= pkt.length) {
    const b0 = pkt[pos] as number;
    const b1 = pkt[pos + 1] as number;
    const size = b1 >> 2;
    if (pos + 2 + size > pkt.length) throw new Error(`invalid Yoctopuce chunk: size ${size} at offset ${pos} runs past the packet`);
    chunks.push({ pktno: b0 & 0x07, stream: b0 >> 3, kind: b1 & 0x03, data: pkt.subarray(pos + 2, pos + 2 + size) });
    pos += 2 + size;
  }
  return chunks;
}

/** The RESET config payload: api version (LE), ok flag, interface number, interface count. */
export function resetPayload(api: number, ok: number, ifaceNo: number, nbIfaces: number): Uint8Array {
  const d = new Uint8Array(USB_PKT_SIZE - 2);
  d[0] = api & 0xff;
  d[1] = api >> 8;
  d[2] = ok;
  d[3] = ifaceNo;
  d[4] = nbIfaces;
  return d;
}

/** The START config payload: interface count and ack delay. */
export function startPayload(nbIfaces: number, ackDelay = 0): Uint8Array {
  const d = new Uint8Array(USB_PKT_SIZE - 2);
  d[0] = nbIfaces;
  d[1] = ackDelay;
  return d;
}
