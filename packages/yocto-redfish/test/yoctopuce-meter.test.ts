import { YoctopuceMeter } from '../src/yoctopuce-meter.js';
import { MeterChannel } from '../src/meter-channel.js';
import {
  decodePacket,
  encodePacket,
  resetPayload,
  USB_CONF_RESET,
  YPKT_CONF,
  YPKT_STREAM,
  YSTREAM_TCP,
} from '../src/internal/yoctopuce/ypkt.js';
import { parseHttp } from '../src/internal/yoctopuce/usb-link.js';
import { parsePowerJson } from '../src/internal/yoctopuce/power-json.js';
import { authorizationHeader, parseChallenge, splitHubUrl } from '../src/internal/yoctopuce/hub-auth.js';
import { redactUrlCredentials } from '../src/internal/redact.js';
import { loadFixture, ReplayUsbDevice, type ReplayFixture, type ReplayStep, sequentialOpener } from './support/replay-usb-device.js';

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

  it('closes the device when open fails after the link started (module.json not answered)', async () => {
    const device = new ReplayUsbDevice(withModuleCall(loadFixture('synthetic-yoctopuce-yoctowatt-usbhid.json')), 4);
    const meter = new YoctopuceMeter({ openUsb: async () => device });
    await expect(meter.open(signal())).rejects.toMatchObject({ code: 'ER_METER_NOT_FOUND' });
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

describe('YoctopuceMeter over USB HID, recovery', () => {
  const powerAnswerReads = 5; // 4 TCP packets + the device TCP_CLOSE, the last steps of the fixture
  const full = (): ReplayFixture => withModuleCall(loadFixture('synthetic-yoctopuce-yoctowatt-usbhid.json'));
  const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

  it('reads the answer when the device sends short packets without padding', async () => {
    const f = full();
    const cut = f.steps.length - powerAnswerReads;
    const shortened = f.steps.slice(cut).map((s) => {
      if (s.op !== 'read' || s.hex === undefined) return s;
      const parts = decodePacket(Buffer.from(s.hex, 'hex'))
        .filter((c) => c.stream !== 0)
        .map((c) => Buffer.concat([Buffer.from([(c.pktno & 7) | (c.stream << 3), c.kind | (c.data.length << 2)]), Buffer.from(c.data)]));
      return { ...s, hex: Buffer.concat(parts).toString('hex') };
    });
    expect(shortened.some((s) => s.op === 'read' && (s.hex ?? '').length < 128)).toBe(true);
    const device = new ReplayUsbDevice({ ...f, steps: [...f.steps.slice(0, cut), ...shortened] });
    const meter = new YoctopuceMeter({ openUsb: async () => device });
    await meter.open(signal());
    expect((await meter.read(signal())).powerWatts).toBeCloseTo(8087142 / 65536, 12);
  });

  it('fails the request at once when the device resets the link mid-answer', async () => {
    const f = full();
    const cut = f.steps.length - powerAnswerReads + 1;
    const reset = encodePacket([{ pktno: 0, stream: USB_CONF_RESET, kind: YPKT_CONF, data: resetPayload(0x0209, 1, 0, 1) }]);
    const device = new ReplayUsbDevice({ ...f, steps: [...f.steps.slice(0, cut), { op: 'read', hex: hexOf(reset) }, ...f.steps.slice(cut)] });
    const meter = new YoctopuceMeter({ openUsb: async () => device });
    await meter.open(signal());
    await expect(meter.read(signal())).rejects.toMatchObject({ code: 'ER_METER', retryable: true, message: expect.stringMatching(/reset/) });
    expect(device.remaining).toBe(powerAnswerReads - 1);
  });

  it('reports the meter offline on a read timeout and re-opens it, skipping the stale answer, when it answers again', async () => {
    const f = full();
    const cut = f.steps.length - powerAnswerReads + 1;
    const first = new ReplayUsbDevice({ ...f, steps: [...f.steps.slice(0, cut), { op: 'read', error: 'timeout' }] });
    // The late rest of the old answer is still queued when the new handshake starts.
    const stale = f.steps.slice(cut, cut + 2);
    const second = new ReplayUsbDevice({ ...f, steps: [f.steps[0] as ReplayStep, ...stale, ...f.steps.slice(1)] });
    const meter = new YoctopuceMeter({ openUsb: sequentialOpener([first, second]).open });
    let t = 0;
    const channel = new MeterChannel({ meter, clock: () => t, pollIntervalMs: 1000, backoffInitialMs: 1000 });
    const down = await channel.sample();
    expect(down.status).toMatchObject({ state: 'UnavailableOffline', health: 'Critical', failures: 1 });
    expect(down.reading).toBeNull();
    expect(first.closed).toBe(true);
    t += 1000;
    const up = await channel.sample();
    expect(up.status.state).toBe('Enabled');
    expect(up.reading?.powerWatts).toBeCloseTo(8087142 / 65536, 12);
    expect(second.remaining).toBe(0);
    await channel.stop();
  });
});

describe('hub authentication', () => {
  it('answers a Digest challenge with the RFC 2617 example response', () => {
    const challenge = parseChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(challenge).toEqual({
      scheme: 'digest',
      digest: {
        realm: 'testrealm@host.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        opaque: '5ccc069c403ebaf9f0171e9517f40e41',
        qop: 'auth',
        algorithm: 'MD5',
        algorithmNamed: false,
        stale: false,
      },
    });
    const header = authorizationHeader(challenge as NonNullable<typeof challenge>, { user: 'Mufasa', password: 'Circle Of Life' }, {
      method: 'GET',
      uri: '/dir/index.html',
      nc: 1,
      cnonce: '0a4f113b',
    });
    expect(header).toMatch(/^Digest /);
    expect(header).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(header).toContain('nc=00000001');
    expect(header).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(header).not.toContain('Circle Of Life');
  });

  it('falls back to Basic when the hub offers only Basic, and refuses other schemes', () => {
    expect(parseChallenge('Basic realm="hub"')).toEqual({ scheme: 'basic' });
    expect(authorizationHeader({ scheme: 'basic' }, { user: 'a', password: 'b' }, { method: 'GET', uri: '/', nc: 1 })).toBe('Basic YTpi');
    expect(parseChallenge('Bearer realm="x"')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });

  it('takes the credentials out of a hub URL', () => {
    expect(splitHubUrl('http://admin:S3%40cret@127.0.0.1:4444/')).toEqual({ base: 'http://127.0.0.1:4444', user: 'admin', password: 'S3@cret' });
    expect(splitHubUrl('http://127.0.0.1:4444')).toEqual({ base: 'http://127.0.0.1:4444' });
    expect(new YoctopuceMeter({ hubUrl: 'http://admin:S3cret@127.0.0.1:4444', serialNumber: 'Y-1' }).target).toBe('http://127.0.0.1:4444#Y-1');
  });

  it('hides the credentials of any URL quoted in a message', () => {
    expect(redactUrlCredentials('cannot reach http://admin:S3cret@hub:4444/x and https://u@h/')).toBe('cannot reach http://hub:4444/x and https://h/');
  });
});
