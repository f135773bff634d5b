import { createServer, type Server } from 'node:net';
import { noopLogger } from '@energyrecorder/core';
import { getFreePort } from '@energyrecorder/testkit';
import { modbusAdapterDefinition } from '../../src/modbus/adapter.js';
import { modbusConfigSchema } from '../../src/modbus/config.js';

/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), sent low byte first. */
function crc16(buf: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/**
 * A serial-to-TCP gateway as seen from the network: raw RTU frames (unit, function, data, CRC) over a TCP
 * socket, answering function 3/4 reads from a register map. Frames with a bad CRC get no answer, as on a bus.
 */
function startRtuGateway(port: number, registers: Map<number, number>, unitId: number): Promise<Server> {
  const server = createServer((sock) => {
    let acc = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      acc = Buffer.concat([acc, chunk]);
      while (acc.length >= 8) {
        const frame = acc.subarray(0, 8);
        acc = acc.subarray(8);
        const crc = crc16(frame.subarray(0, 6));
        if (frame[6] !== (crc & 0xff) || frame[7] !== crc >> 8) continue;
        if (frame[0] !== unitId || (frame[1] !== 3 && frame[1] !== 4)) continue;
        const start = frame.readUInt16BE(2);
        const count = frame.readUInt16BE(4);
        const body = Buffer.alloc(3 + count * 2);
        body[0] = unitId;
        body[1] = frame[1] ?? 3;
        body[2] = count * 2;
        for (let i = 0; i < count; i++) body.writeUInt16BE(registers.get(start + i) ?? 0, 3 + i * 2);
        const out = crc16(body);
        sock.write(Buffer.concat([body, Buffer.from([out & 0xff, out >> 8])]));
      }
    });
    sock.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('modbus adapter with the RTU framer', () => {
  let server: Server;
  let port: number;
  const registers = new Map<number, number>([
    [0, 0x4366],
    [1, 0x199a], // 0x4366199a: 230.1 as float32
    [2, 1234],
  ]);

  beforeAll(async () => {
    port = await getFreePort();
    server = await startRtuGateway(port, registers, 17);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  });

  it('reads registers as RTU frames over TCP when framer is RTU', async () => {
    const config = modbusConfigSchema.parse({
      host: `127.0.0.1:${port}`,
      framer: 'RTU',
      timeout: 1,
      sensors: [
        { name: 'voltage', unit: 'V', register_address: 0, register_type: 'MBF', device_unit: 17 },
        { name: 'count', unit: 'count', register_address: 2, register_type: 'MBU', device_unit: 17, register_scaling: 0.5 },
      ],
    });
    const adapter = modbusAdapterDefinition.create(config, { logger: noopLogger, requestTimeoutMs: 1000, equipmentId: 'gw' });
    try {
      const readings = await adapter.read(new AbortController().signal);
      expect(readings.map((r) => [r.sensor, r.value])).toEqual([
        ['voltage', 230.1],
        ['count', 617],
      ]);
    } finally {
      await adapter.close();
    }
  });
});
