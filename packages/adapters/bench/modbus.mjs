// Modbus polls per second against a local ServerTCP (in a child process, so its CPU does not slow the client):
// 20 float32 sensors two registers apart, read one request per sensor (baseline, `max_gap: 0`) versus merged
// into one request (`max_gap: 8`).
// Run after `npx tsup`: npm run bench
/* global performance, AbortController */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const SENSORS = 20;

if (process.argv[2] === 'server') {
  const { ServerTCP } = (await import('modbus-serial')).default;
  const port = Number(process.argv[3]);
  const value = (addr) => (addr % 4 === 0 ? 0x4366 : 0x1999);
  const server = new ServerTCP(
    {
      getHoldingRegister: (addr, _unit, cb) => cb(null, value(addr)),
      getMultipleHoldingRegisters: (addr, length, _unit, cb) => cb(null, Array.from({ length }, (_, i) => value(addr + i))),
    },
    { host: '127.0.0.1', port, unitID: 255 },
  );
  server.on('initialized', () => process.send?.('ready'));
  process.on('disconnect', () => server.close(() => process.exit(0)));
} else {
  const { modbusAdapterDefinition, modbusConfigSchema } = await import('../dist/index.js');
  const { noopLogger } = await import('@energyrecorder/core');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = fork(fileURLToPath(import.meta.url), ['server', String(port)], { stdio: 'inherit' });
  await new Promise((resolve) => child.once('message', resolve));

  const sensors = Array.from({ length: SENSORS }, (_, i) => ({
    name: `s${i}`,
    unit: 'W',
    register_address: i * 4,
    register_type: 'MBF',
  }));

  async function run(label, maxGap) {
    const config = modbusConfigSchema.parse({ host: `127.0.0.1:${port}`, sensors, max_gap: maxGap, timeout: 2 });
    const adapter = modbusAdapterDefinition.create(config, { logger: noopLogger, requestTimeoutMs: 2000, equipmentId: 'bench' });
    const signal = new AbortController().signal;
    await adapter.read(signal);
    const start = performance.now();
    let polls = 0;
    while (performance.now() - start < DURATION_MS) {
      const readings = await adapter.read(signal);
      if (readings.length !== SENSORS) throw new Error(`${label}: ${readings.length} readings`);
      polls += 1;
    }
    const perS = polls / ((performance.now() - start) / 1000);
    await adapter.close();
    return { label, perS };
  }

  const baseline = await run('one request per sensor (max_gap 0)', 0);
  const merged = await run('merged requests (max_gap 8)', 8);
  console.log(`modbus: ${SENSORS} float32 sensors, ${DURATION_MS} ms each, loopback`);
  console.log(`  baseline  ${baseline.label}: ${baseline.perS.toFixed(0)} polls/s (1.00x)`);
  console.log(`  candidate ${merged.label}: ${merged.perS.toFixed(0)} polls/s (${(merged.perS / baseline.perS).toFixed(2)}x baseline)`);
  child.disconnect();
}
