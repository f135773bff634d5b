// SNMP polls per second against a local net-snmp agent (in a child process, so its CPU does not slow the
// client): 20 sensors read the original's way, one GET per sensor (baseline: one single-sensor adapter per
// OID), versus all OIDs in one GET (one adapter with 20 sensors).
// Run after `npx tsup`: npm run bench
/* global performance, AbortController */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const SENSORS = 20;
const BASE = '1.3.6.1.4.1.99999.1';

if (process.argv[2] === 'agent') {
  const snmp = (await import('net-snmp')).default;
  const port = Number(process.argv[3]);
  const agent = snmp.createAgent({ port, address: '127.0.0.1', disableAuthorization: false }, () => undefined);
  agent.getAuthorizer().addCommunity('bench');
  const mib = agent.getMib();
  for (let i = 1; i <= SENSORS; i++) {
    mib.registerProvider({
      name: `s${i}`,
      type: snmp.MibProviderType.Scalar,
      oid: `${BASE}.${i}`,
      scalarType: snmp.ObjectType.Gauge,
      maxAccess: snmp.MaxAccess['read-only'],
    });
    mib.setScalarValue(`s${i}`, 100 + i);
  }
  process.send?.('ready');
  process.on('disconnect', () => {
    agent.close();
    process.exit(0);
  });
} else {
  const { snmpAdapterDefinition, snmpConfigSchema } = await import('../dist/index.js');
  const { noopLogger } = await import('@energyrecorder/core');
  const port = await new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = fork(fileURLToPath(import.meta.url), ['agent', String(port)], { stdio: 'inherit' });
  await new Promise((resolve) => child.once('message', resolve));

  const sensors = Array.from({ length: SENSORS }, (_, i) => ({ name: `s${i + 1}`, oid: `${BASE}.${i + 1}.0`, unit: 'W' }));
  const make = (list) =>
    snmpAdapterDefinition.create(snmpConfigSchema.parse({ host: '127.0.0.1', port, community: 'bench', sensors: list, timeout: 2 }), {
      logger: noopLogger,
      requestTimeoutMs: 2000,
      equipmentId: 'bench',
    });

  async function run(label, adapters) {
    const signals = adapters.map(() => new AbortController().signal);
    const poll = async () => (await Promise.all(adapters.map((a, i) => a.read(signals[i])))).flat();
    await poll();
    const start = performance.now();
    let polls = 0;
    while (performance.now() - start < DURATION_MS) {
      const readings = await poll();
      if (readings.length !== SENSORS) throw new Error(`${label}: ${readings.length} readings`);
      polls += 1;
    }
    const perS = polls / ((performance.now() - start) / 1000);
    for (const a of adapters) await a.close();
    return { label, perS };
  }

  const baseline = await run('one GET per sensor (20 adapters, concurrent)', sensors.map((s) => make([s])));
  const batched = await run('all OIDs in one GET', [make(sensors)]);
  console.log(`snmp: ${SENSORS} sensors, v2c, ${DURATION_MS} ms each, loopback`);
  console.log(`  baseline  ${baseline.label}: ${baseline.perS.toFixed(0)} polls/s (1.00x)`);
  console.log(`  candidate ${batched.label}: ${batched.perS.toFixed(0)} polls/s (${(batched.perS / baseline.perS).toFixed(2)}x baseline)`);
  child.disconnect();
}
