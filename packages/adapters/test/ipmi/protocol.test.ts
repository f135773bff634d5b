import { createDecipheriv } from 'node:crypto';
import { CIPHER_SUITES, decryptPayload, encryptPayload } from '../../src/ipmi/internal/cipher-suite.js';
import {
  checksum,
  decodeBridgedResponse,
  decodeIpmiResponse,
  decodePacket,
  encodeBridgedRequest,
  encodeIpmiRequest,
  encodeV15Packet,
  encodeV20Packet,
  PacketError,
  PayloadType,
  v15AuthCode,
} from '../../src/ipmi/internal/packet.js';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  encodeOpenSessionRequest,
  encodeRakp1,
} from '../../src/ipmi/internal/rakp.js';

describe('checksum and IPMI message framing', () => {
  it('frames Get Device ID as ipmitool does when rqSeq is 1', () => {
    // 20 18 c8 | 81 04 01 7a: the header and data checksums of IPMI v2.0 §13.8, as ipmitool -vvvv prints them.
    expect(encodeIpmiRequest({ netFn: 0x06, cmd: 0x01, data: Buffer.alloc(0), rqSeq: 1 }).toString('hex')).toBe(
      '2018c88104017a',
    );
  });

  it('makes every frame sum to zero modulo 256 when checksums are included', () => {
    const frame = encodeIpmiRequest({ netFn: 0x2c, cmd: 0x02, data: Buffer.from([0xdc, 1, 0, 0]), rqSeq: 33 });
    expect(checksum(frame, 0, 3)).toBe(0);
    expect(checksum(frame, 3)).toBe(0);
  });

  it('decodes a response and its completion code when checksums are right', () => {
    // Get Channel Auth Capabilities answer captured from ipmi_sim 2.0.33.
    const rsp = decodeIpmiResponse(Buffer.from('811c632004380001970403000000000005', 'hex'));
    expect(rsp).toMatchObject({ netFn: 0x07, cmd: 0x38, rqSeq: 1, completionCode: 0 });
    expect(rsp.data.toString('hex')).toBe('019704030000000000');
  });

  it('rejects a response when a checksum is wrong', () => {
    expect(() => decodeIpmiResponse(Buffer.from('811c632004380001970403000000000006', 'hex'))).toThrow(/checksum/);
    expect(() => decodeIpmiResponse(Buffer.from('811d632004380001970403000000000005', 'hex'))).toThrow(/checksum/);
  });

  it('wraps a bridged request in Send Message with tracking when a target is given', () => {
    const req = encodeBridgedRequest({ netFn: 0x04, cmd: 0x2d, data: Buffer.from([2]), targetAddress: 0x82 }, 0, 5);
    expect(req.netFn).toBe(0x06);
    expect(req.cmd).toBe(0x34);
    // 40h = track request on channel 0, then the IPMB frame from the BMC (20h) to the target (82h);
    // checksums by hand: 100h - (82h + 10h) = 6Eh, 100h - (20h + 14h + 2Dh + 02h) = 9Dh.
    expect(Buffer.from(req.data).toString('hex')).toBe('4082106e20142d029d');
  });

  it('extracts the target answer from a Send Message response when it is embedded', () => {
    const inner = Buffer.from([0x20, 0x14, 0xcc, 0x82, 0x14, 0x2d, 0x00, 0x7d, 0xc0]);
    inner[8] = checksum(inner, 3, 8);
    const outer = decodeIpmiResponse(
      encodeOuterResponse(Buffer.concat([Buffer.from([0x00]), inner])),
    );
    const got = decodeBridgedResponse(outer);
    expect(got).toMatchObject({ cmd: 0x2d, completionCode: 0 });
    expect(got?.data.toString('hex')).toBe('7d');
  });
});

/** A Send Message (07h/34h) answer from the BMC carrying `data` after the completion code. */
function encodeOuterResponse(body: Buffer): Buffer {
  const out = Buffer.alloc(7 + body.length - 1 + 1);
  out[0] = 0x81;
  out[1] = 0x07 << 2;
  out[2] = checksum(out, 0, 2);
  out[3] = 0x20;
  out[4] = 5 << 2;
  out[5] = 0x34;
  body.copy(out, 6);
  out[out.length - 1] = checksum(out, 3, out.length - 1);
  return out;
}

describe('AES-CBC-128 confidentiality (IPMI v2.0 §13.29)', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const iv = Buffer.from('f0e0d0c0b0a090807060504030201000', 'hex');

  it('pads with 1, 2, 3, ... and the pad length when the payload is 7 bytes', () => {
    const payload = Buffer.from('20180c8104017a', 'hex');
    const enc = encryptPayload(key, payload, iv);
    expect(enc.subarray(0, 16)).toEqual(iv);
    const d = createDecipheriv('aes-128-cbc', key, iv);
    d.setAutoPadding(false);
    const plain = Buffer.concat([d.update(enc.subarray(16)), d.final()]);
    expect(plain.toString('hex')).toBe('20180c8104017a' + '0102030405060708' + '08');
  });

  it('round-trips any length when encrypting and decrypting', () => {
    for (let n = 0; n < 40; n++) {
      const payload = Buffer.alloc(n, n);
      expect(decryptPayload(key, encryptPayload(key, payload))).toEqual(payload);
    }
  });

  it('rejects a payload when its padding is corrupt', () => {
    const enc = encryptPayload(key, Buffer.from('abcdef', 'hex'), iv);
    enc[enc.length - 1] = (enc[enc.length - 1] ?? 0) ^ 0xff;
    expect(() => decryptPayload(key, enc)).toThrow();
  });
});

describe('RMCP+ packets (IPMI v2.0 §13.6)', () => {
  const suite = CIPHER_SUITES[17];
  const security = { suite, k1: Buffer.alloc(32, 7), aesKey: Buffer.alloc(16, 9) };

  it('aligns the integrity pad to 4 bytes and appends a 16-byte AuthCode when suite 17 is used', () => {
    for (let n = 1; n < 20; n++) {
      const pkt = encodeV20Packet({ payloadType: 0, sessionId: 0x1234, sequence: n, payload: Buffer.alloc(n) }, security);
      const signedLength = pkt.length - 4 - suite.authCodeLength;
      expect(signedLength % 4).toBe(0);
      expect(pkt[pkt.length - suite.authCodeLength - 1]).toBe(0x07);
      const decoded = decodePacket(pkt, security);
      expect(decoded).toMatchObject({ encrypted: true, authenticated: true, sessionId: 0x1234, sequence: n });
      expect(decoded.payload).toEqual(Buffer.alloc(n));
    }
  });

  it('rejects a packet when the integrity key differs', () => {
    const pkt = encodeV20Packet({ payloadType: 0, sessionId: 1, sequence: 1, payload: Buffer.from([1, 2, 3]) }, security);
    expect(() => decodePacket(pkt, { ...security, k1: Buffer.alloc(32, 8) })).toThrow(PacketError);
  });

  it('rejects a packet when one byte was altered in transit', () => {
    const pkt = encodeV20Packet({ payloadType: 0, sessionId: 1, sequence: 1, payload: Buffer.from([1, 2, 3]) }, security);
    pkt[20] = (pkt[20] ?? 0) ^ 1;
    expect(() => decodePacket(pkt, security)).toThrow(/integrity/);
  });

  it('reads an IPMI v1.5 packet when the auth type is none', () => {
    const pkt = encodeV15Packet(Buffer.from('811c632004380001970403000000000005', 'hex'));
    expect(decodePacket(pkt, undefined)).toMatchObject({ payloadType: PayloadType.IPMI, sessionId: 0, authenticated: false });
  });

  it('encodes the Open Session Request algorithm payloads for suite 3 and 17', () => {
    expect(encodeOpenSessionRequest(1, 0xa0a2a3a4, 4, CIPHER_SUITES[3]).toString('hex')).toBe(
      '01040000a4a3a2a0' + '0000000801000000' + '0100000801000000' + '0200000801000000',
    );
    expect(encodeOpenSessionRequest(1, 0xa0a2a3a4, 4, CIPHER_SUITES[17]).toString('hex')).toBe(
      '01040000a4a3a2a0' + '0000000803000000' + '0100000804000000' + '0200000801000000',
    );
  });

  it('encodes RAKP 1 with the name-only role bit and the user name', () => {
    const rakp1 = encodeRakp1(2, 0x1000, Buffer.alloc(16, 0xaa), 0x14, Buffer.from('admin'));
    expect(rakp1.toString('hex')).toBe('02000000' + '00100000' + 'aa'.repeat(16) + '14000005' + '61646d696e');
  });

  it('decodes the short error answers ipmi_sim sends when a step is refused', () => {
    expect(decodeOpenSessionResponse(Buffer.from([0x00, 0x11]))).toMatchObject({ status: 0x11 });
    expect(decodeRakp2(Buffer.from([0x01, 0x0d]))).toMatchObject({ status: 0x0d });
    expect(() => decodeOpenSessionResponse(Buffer.from([0x00, 0x00]))).toThrow(/too short/);
  });
});

describe('IPMI v1.5 MD5 packets (IPMI v2.0 §22.17.1)', () => {
  const password = Buffer.alloc(16);
  password.write('secret');
  const message = Buffer.from('2018c88104017a', 'hex');

  it('computes MD5(password, session id, message, sequence, password) as an independent MD5 does', () => {
    // Reference value from Python: hashlib.md5(pw16 + pack('<I', 0x01020304) + msg + pack('<I', 5) + pw16).
    expect(v15AuthCode(password, 0x01020304, message, 5).toString('hex')).toBe('8e02023cc977dd8715688bb09632a616');
  });

  it('frames an MD5 packet and reads it back with its AuthCode', () => {
    const pkt = encodeV15Packet(message, { password, sessionId: 0x01020304, sequence: 5 });
    expect(pkt.subarray(4, 14).toString('hex')).toBe('02' + '05000000' + '04030201' + '8e');
    expect(pkt[29]).toBe(message.length);
    const decoded = decodePacket(pkt, undefined);
    expect(decoded).toMatchObject({ authenticated: true, sessionId: 0x01020304, sequence: 5 });
    expect(decoded.payload).toEqual(message);
    expect(decoded.v15AuthCode?.toString('hex')).toBe('8e02023cc977dd8715688bb09632a616');
  });
});
