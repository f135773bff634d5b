import { YoctopuceMeter } from '../src/yoctopuce-meter.js';
import { decodePacket, encodePacket, YPKT_STREAM, YSTREAM_TCP } from '../src/internal/yoctopuce/ypkt.js';
import { parseHttp } from '../src/internal/yoctopuce/usb-link.js';
import { parsePowerJson } from '../src/internal/yoctopuce/power-json.js';
import { loadFixture, ReplayUsbDevice, type ReplayFixture } from './support/replay-usb-device.js';

const signal = (): AbortSignal => AbortSignal.timeout(5000);

/** The fixture's power.json exchange re-targeted at another function, for the module.json call of `open`. */
function withModuleCall(fixture: ReplayFixture): ReplayFixture {
  const handshake = fixture.steps.slice(0, 4);
  const moduleReq = encodePacket([{ pktno: 1, stream: YSTREAM_TCP, kind: YPKT_STREAM, data: Buffer.from('GET /api/module.json \r\n\r\n') }]);
  const body = Buffer.from('0K\r\n\r\n{"productName":"Yocto-Watt","serialNumber":"YWATTMK1-0001A","firmwareRelease":"59000"}');
  const moduleAnswer = [
    { op: 'write' as const, hex: Buffer.from(moduleReq).toString('hex') },
    { op: 'write' as const, hex: Buffer.from(encodePacket([{ pktno: 2, stream: 2, kind: 0, data: new Uint8Array(0) }])).toString('hex') },
    { op: 'read' as const, hex: Buffer.from(encodePacket([{ pktno: 1, stream: YSTREAM_TCP, kind: 0, data: body.subarray(0, 62) }])).toString('hex') },
    { op: 'read' as const, hex: Buffer.from(encodePacket([{ pktno: 2, stream: YSTREAM_TCP, kind: 0, data: body.subarray(62) }, { pktno: 2, stream: 2, kind: 0, data: new Uint8Array(0) }])).toString('hex') },
  ];
  // The power request is the host's 3rd and 4th stream packets after module.json: renumber pktno 1,2 -> 3,4.
  const renumber = (hex: string, pktno: number): string => {
    const b = Buffer.from(hex, 'hex');
    b[0] = ((b[0] as number) & 0xf8) | pktno;
    return b.toString('hex');
  };
  const rest = fixture.steps.slice(4).map((s, i) => (s.op === 'write' ? { ...s, hex: renumber(s.hex, i + 3) } : s));
  return { ...fixture, steps: [...handshake, ...moduleAnswer, ...rest] };
}

describe('YoctopuceMeter over USB HID', () => {
  it('handshakes, tunnels GET power.json and decodes 16.16 values when the device replays the exchange', async () => {
    const device = new ReplayUsbDevice(withModuleCall(loadFixture('synthetic-yoctopuce-yoctowatt-usbhid.json')));
    const meter = new YoctopuceMeter({ openUsb: async () => device });
    const id = await meter.open(signal());
    expect(id).toEqual({ manufacturer: 'Yoctopuce', model: 'Yocto-Watt', serialNumber: 'YWATTMK1-0001A', firmwareVersion: '59000' });
    const r = await meter.read(signal());
    expect(r.powerWatts).toBeCloseTo(8087142 / 65536, 12);
    expect(r.energyWh).toBe(2.5);
    expect(device.remaining).toBe(0);
  });

  it('refuses the device when its protocol major version differs', async () => {
    const fixture = loadFixture('synthetic-yoctopuce-yoctowatt-usbhid.json');
    const reset = Buffer.from((fixture.steps[1] as { hex: string }).hex, 'hex');
    reset[3] = 0x03; // api 0x0309
    fixture.steps[1] = { op: 'read', hex: reset.toString('hex') };
    const device = new ReplayUsbDevice(fixture);
    const meter = new YoctopuceMeter({ openUsb: async () => device });
    await expect(meter.open(signal())).rejects.toMatchObject({ code: 'ER_METER_VERSION', retryable: false });
    expect(device.closed).toBe(true);
  });

  it('reports the meter gone when the device disappears mid-answer', async () => {
    const fixture = loadFixture('synthetic-yoctopuce-yoctowatt-usbhid.json');
    const full = withModuleCall(fixture);
    const device = new ReplayUsbDevice(full, full.steps.length - 2);
    const meter = new YoctopuceMeter({ openUsb: async () => device });
    await meter.open(signal());
    await expect(meter.read(signal())).rejects.toMatchObject({ code: 'ER_METER_NOT_FOUND', retryable: true });
  });
});

describe('Yoctopuce packets', () => {
  it('round-trips chunks and pads with an EMPTY chunk when encoding', () => {
    const pkt = encodePacket([{ pktno: 5, stream: YSTREAM_TCP, kind: YPKT_STREAM, data: Buffer.from('abc') }]);
    expect(pkt.length).toBe(64);
    expect(pkt[0]).toBe(5 | (1 << 3));
    expect(pkt[1]).toBe(3 << 2);
    const chunks = decodePacket(pkt);
    expect(chunks).toHaveLength(2);
    expect(Buffer.from(chunks[0]?.data ?? []).toString()).toBe('abc');
    expect(chunks[1]).toMatchObject({ stream: 0, kind: 0 });
    expect(chunks[1]?.data.length).toBe(57);
  });

  it('throws when a chunk size runs past the packet', () => {
    const pkt = new Uint8Array(64);
    pkt[1] = 63 << 2;
    pkt[0] = 1 << 3;
    expect(() => decodePacket(pkt.subarray(0, 10))).toThrow(/runs past/);
  });
});

describe('parseHttp', () => {
  it('accepts HTTP/1.1 and the short 0K status line', () => {
    expect(parseHttp(Buffer.from('HTTP/1.1 404 Not Found\r\n\r\nx')).status).toBe(404);
    expect(parseHttp(Buffer.from('0K\r\n\r\n{}')).body.toString()).toBe('{}');
  });
});

describe('parsePowerJson', () => {
  it('prefers currentValue over advertisedValue and converts mW', () => {
    expect(parsePowerJson({ unit: 'W', advertisedValue: '1.0', currentValue: 65536 * 2 })?.powerWatts).toBe(2);
    expect(parsePowerJson({ unit: 'mW', currentValue: 65536 * 500 })?.powerWatts).toBe(0.5);
    expect(parsePowerJson({ unit: 'W', advertisedValue: '3.5' })?.powerWatts).toBe(3.5);
    expect(parsePowerJson({ unit: 'W' })).toBeUndefined();
  });
});
