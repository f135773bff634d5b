// IPMI reads per CPU-second: the native RMCP+ driver (one session kept open, a few UDP packets per read) versus
// the baseline `driver: ipmitool` (one ipmitool process per read, a new RMCP+ session each time, as the original
// collector did), both against the same OpenIPMI ipmi_sim on 127.0.0.1 reading its SDR power sensor.
// CPU is this process plus its reaped children (ipmitool), from /proc/self/stat; ipmi_sim keeps running during
// the measurement, so its own CPU is not counted for either driver.
// Needs ipmi_sim, sdrcomp, ipmitool. Run after `npx tsup` in packages/core, packages/adapters and packages/testkit:
//   npm run bench   (or node bench/ipmi.mjs)
/* global performance, AbortSignal */
import { readFileSync } from 'node:fs';

const NATIVE_MS = Number(process.env.BENCH_MS ?? 3000);
const IPMITOOL_READS = Number(process.env.BENCH_IPMITOOL_READS ?? 20);
const TICKS_PER_S = 100; // Linux USER_HZ

/** CPU seconds of this process and of its waited-for children. */
function cpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based, proc(5)).
  const ticks = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return ticks.reduce((a, b) => a + b, 0) / TICKS_PER_S;
}

async function measure(label, adapter, { reads, durationMs }) {
  await adapter.read(AbortSignal.timeout(20_000)); // session set-up and SDR walk are not what we measure
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  let n = 0;
  let last = 0;
  while ((reads !== undefined && n < reads) || (durationMs !== undefined && performance.now() - t0 < durationMs)) {
    const r = await adapter.read(AbortSignal.timeout(20_000));
    last = r[0]?.value ?? Number.NaN;
    n++;
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = Math.max(cpuSeconds() - cpu0, 1 / TICKS_PER_S);
  await adapter.close();
  return { label, reads: n, wallS, cpuS, perCpuS: n / cpuS, perWallS: n / wallS, last };
}

let testkit;
let adapters;
let core;
try {
  testkit = await import('@energyrecorder/testkit');
  adapters = await import('../dist/index.js');
  core = await import('@energyrecorder/core');
} catch (err) {
  console.error(`build first (npx tsup in core, adapters and testkit): ${err.message}`);
  process.exit(1);
}

const sim = await testkit.startIpmiSim({ user: 'admin', pass: 'bench-secret', powerWatts: 300 });
try {
  const ctx = { logger: core.noopLogger, requestTimeoutMs: 5000, equipmentId: 'bench' };
  const make = (driver) =>
    adapters.createIpmiAdapter(
      adapters.ipmiConfigSchema.parse({
        type: 'ipmi',
        id: 'bench',
        host: sim.host,
        port: sim.port,
        user: sim.user,
        pass: sim.pass,
        driver,
      }),
      ctx,
    );
  const baseline = await measure('ipmitool driver (baseline)', make('ipmitool'), { reads: IPMITOOL_READS });
  const native = await measure('native RMCP+ driver', make('native'), { durationMs: NATIVE_MS });
  console.log(`ipmi reads against ipmi_sim on ${sim.host}:${sim.port} (SDR sensor, cipher suite 3)`);
  for (const r of [baseline, native]) {
    console.log(
      `  ${r.label.padEnd(28)} ${String(r.reads).padStart(6)} reads  ${r.cpuS.toFixed(2)} CPU-s  ` +
        `${r.perCpuS.toFixed(0).padStart(7)} reads/CPU-s  ${r.perWallS.toFixed(0).padStart(6)} reads/s  last=${r.last} W`,
    );
  }
  console.log(
    `  native vs ipmitool: ${(native.perCpuS / baseline.perCpuS).toFixed(1)}x reads per CPU-second, ` +
      `${(native.perWallS / baseline.perWallS).toFixed(1)}x reads per wall-second`,
  );
} finally {
  await sim.stop();
}
