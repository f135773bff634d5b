import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { getFreeUdpPort, makeTempDir, ManagedProcess, removeDir } from './common.js';

/** Options of {@link startIpmiSim}. */
export interface IpmiSimOptions {
  /** ADMIN user name (user 2). */
  user: string;
  /** Password of both users. */
  pass: string;
  /** Initial power of the "PS1 Input Power" SDR sensor (and of DCMI), W. Range 50–560 in 2 W steps. */
  powerWatts: number;
  /** Load the DCMI module (needs gcc and libopenipmi-dev). Default false. */
  dcmi?: boolean;
  /** IANA manufacturer id reported by Get Device ID. Default 343 (Intel: sensors named `PS.* Input Power`). */
  manufacturerId?: number;
  /**
   * Add a satellite controller at IPMB address 30h owning a second Watts sensor, "PS2 Input Power" (same
   * factors), described in the BMC's SDR repository and reached by bridging (Send Message). Default false.
   */
  satellite?: { powerWatts: number };
  /** UDP port of the LAN channel; default a free one. */
  port?: number;
  /** How long to wait for the BMC to answer, in ms; default 15 s. */
  readyTimeoutMs?: number;
}

/** A running `ipmi_sim`. */
export interface IpmiSimHandle {
  host: string;
  port: number;
  /** ADMIN user. */
  user: string;
  pass: string;
  /** A second user limited to USER privilege (same password). */
  readOnlyUser: string;
  /** Name of the power sensor in the SDR. */
  sensorName: string;
  /** Sets the watts seen by the SDR sensor (rounded to its 2 W resolution) and by DCMI; visible within ~1 s. */
  setPower(watts: number): void;
  /** The watts the SDR sensor reports for the last {@link setPower} (after rounding and clamping). */
  expectedSdrWatts(): number;
  /** IPMB address of the satellite controller, when one was asked for. */
  satelliteAddress?: number;
  /** Sets the satellite's sensor, like {@link setPower}; returns the watts it will report. */
  setSatellitePower(watts: number): number;
  /** Kills the simulator and starts it again on the same port and state: every session is lost. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Simulator output, for failure messages. */
  logs(): string;
}

/** Sensor factors in the SDR below: y = (M·x + B·10^Bexp)·10^Rexp = 2x + 50. */
const SENSOR_M = 2;
const SENSOR_OFFSET = 50;
const SENSOR_NAME = 'PS1 Input Power';

/** Raw byte the file-polled sensor must hold to report `watts`. */
function rawFor(watts: number): number {
  return Math.min(255, Math.max(0, Math.round((watts - SENSOR_OFFSET) / SENSOR_M)));
}

function powerRecord(owner: string, name: string): string {
  return `
sdr type 1
	sensor_owner_id		${owner}
	sensor_owner_lun	0
	channel_number		0
	sensor_number		2
	entity_id		power_supply
	entity_instance		1
	sensor_type		Current
	event_reading_type_code	1
	analog_data_format	unsigned
	rate_unit		none
	modifier_unit		none
	percentage		false
	base_unit		Watts
	modifier_unit_code	unspecified
	linearization		linear
	m			${SENSOR_M}
	tolerance		0
	b			5
	accuracy		1
	accuracy_exp		0
	sensor_direction	input
	r_exp			0
	b_exp			1
	sensor_maximum		255
	sensor_minimum		0
	id_string		"${name}"
endsdr
`;
}

function sdrSource(satellite: boolean): string {
  // Full sensor records (type 1) compiled by Debian's sdrcomp; a Watts sensor with non-trivial M, B, Bexp so
  // the conversion is exercised, and a temperature sensor that must not be summed.
  return `${powerRecord('0x20', SENSOR_NAME)}${satellite ? powerRecord('0x30', 'PS2 Input Power') : ''}
sdr type 1
	sensor_owner_id		0x20
	sensor_owner_lun	0
	channel_number		0
	sensor_number		3
	entity_id		system_board
	entity_instance		1
	sensor_type		Temperature
	event_reading_type_code	1
	analog_data_format	unsigned
	rate_unit		none
	modifier_unit		none
	percentage		false
	base_unit		degrees_C
	modifier_unit_code	unspecified
	linearization		linear
	m			1
	tolerance		0
	b			0
	accuracy		1
	accuracy_exp		0
	sensor_direction	input
	r_exp			0
	b_exp			0
	sensor_maximum		255
	sensor_minimum		0
	id_string		"Inlet Temp"
endsdr
`;
}

function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) resolvePromise(stdout);
      else reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`, { cause: err }));
    });
  });
}

/** Finds `native/dcmi-power/dcmi_power.c` from the working dir upwards (tests run from a package dir). */
function findModuleSource(): string {
  let dir = process.cwd();
  for (;;) {
    for (const candidate of [
      join(dir, 'native', 'dcmi-power', 'dcmi_power.c'),
      join(dir, 'packages', 'testkit', 'native', 'dcmi-power', 'dcmi_power.c'),
      join(dir, '..', 'testkit', 'native', 'dcmi-power', 'dcmi_power.c'),
    ]) {
      if (existsSync(candidate)) return resolve(candidate);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find packages/testkit/native/dcmi-power/dcmi_power.c');
    dir = parent;
  }
}

/**
 * True once the BMC answers an IPMI request: an unauthenticated IPMI v1.5 Get Channel Authentication
 * Capabilities, which (unlike an ASF presence ping, answered by the LAN layer alone) needs the MC to be up.
 */
function ipmiPing(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const sock = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolvePromise(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', () => done(true));
    sock.on('error', () => done(false));
    // RMCP (06 00 FF 07), session header with auth type none, then 20 18 C8 81 04 38 8E 04 B1: netfn App,
    // cmd 38h, channel Eh with the v2.0 bit, ADMIN, checksums by hand.
    sock.send(Buffer.from('0600ff07000000000000000000092018c88104388e04b1', 'hex'), port, host);
  });
}

/**
 * Starts OpenIPMI's `ipmi_sim` on 127.0.0.1 with one BMC: an ADMIN and a USER-only user, a Watts full SDR
 * sensor polled from a file, optionally the DCMI module of `native/dcmi-power`. Needs `ipmi_sim` and
 * `sdrcomp` (Debian `openipmi`), and for DCMI `gcc` plus `libopenipmi-dev`.
 */
export async function startIpmiSim(options: IpmiSimOptions): Promise<IpmiSimHandle> {
  const dir = makeTempDir('ipmisim');
  const host = '127.0.0.1';
  const port = options.port ?? (await getFreeUdpPort());
  const name = 'ersim';
  const stateDir = join(dir, 'state');
  const persistDir = join(stateDir, 'ipmi_sim', name);
  mkdirSync(persistDir, { recursive: true });
  const powerFile = join(dir, 'power.raw');
  const tempFile = join(dir, 'temp.raw');
  const dcmiFile = join(dir, 'dcmi.watts');
  const readOnlyUser = `${options.user.slice(0, 12)}-ro`;
  const satelliteFile = join(dir, 'power2.raw');
  const setSatellitePower = (watts: number): number => {
    const raw = rawFor(watts);
    writeFileSync(satelliteFile, `${raw}\n`);
    return SENSOR_M * raw + SENSOR_OFFSET;
  };
  let sdrWatts = 0;
  const setPower = (watts: number): void => {
    const raw = rawFor(watts);
    sdrWatts = SENSOR_M * raw + SENSOR_OFFSET;
    writeFileSync(powerFile, `${raw}\n`);
    writeFileSync(dcmiFile, `${Math.round(watts)}\n`);
  };
  try {
    setPower(options.powerWatts);
    writeFileSync(tempFile, '25\n');
    if (options.satellite !== undefined) setSatellitePower(options.satellite.powerWatts);
    writeFileSync(join(dir, 'sim.sdrs'), sdrSource(options.satellite !== undefined));
    await run('sdrcomp', ['-o', join(persistDir, 'sdr.20.main'), join(dir, 'sim.sdrs')]);
    let loadlib = '';
    if (options.dcmi === true) {
      const so = join(dir, 'dcmi_power.so');
      await run('gcc', ['-shared', '-fPIC', '-O2', '-o', so, findModuleSource()]);
      loadlib = `loadlib "${so}" "${dcmiFile}"\n`;
    }
    const q = (s: string): string => `"${s.replace(/["\\]/g, '')}"`;
    writeFileSync(
      join(dir, 'lan.conf'),
      `name "${name}"
${loadlib}set_working_mc 0x20
  startlan 1
    addr ${host} ${port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  user 2 true ${q(options.user)} ${q(options.pass)} admin 10 none md2 md5 straight
  user 3 true ${q(readOnlyUser)} ${q(options.pass)} user 10 none md2 md5 straight
`,
    );
    const manufacturer = options.manufacturerId ?? 343;
    const events = '000000000000000 000000000000000 000000000000000 000000000000000';
    writeFileSync(
      join(dir, 'sim.emu'),
      `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f ${manufacturer} 0xf02 persist_sdr
sel_enable 0x20 50 0x0a
sensor_add 0x20 0 2 0x03 0x01 poll 1000 file "${powerFile}"
sensor_set_event_support 0x20 0 2 enable scanning per-state ${events}
sensor_add 0x20 0 3 0x01 0x01 poll 1000 file "${tempFile}"
sensor_set_event_support 0x20 0 3 enable scanning per-state ${events}
${
  options.satellite === undefined
    ? ''
    : `mc_add 0x30 2 no-device-sdrs 0x98 0x10 1 0x80 ${manufacturer} 0xf03
sensor_add 0x30 0 2 0x03 0x01 poll 1000 file "${satelliteFile}"
sensor_set_event_support 0x30 0 2 enable scanning per-state ${events}
mc_enable 0x30
`
}mc_enable 0x20
`,
    );
  } catch (err) {
    removeDir(dir);
    throw err;
  }
  const args = ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-s', stateDir, '-n'];
  let proc: ManagedProcess | undefined;
  const start = async (): Promise<void> => {
    const p = new ManagedProcess('ipmi_sim', args, { cwd: dir });
    proc = p;
    await p.waitReady(() => ipmiPing(host, port, 300), `ipmi_sim on ${host}:${port}`, { timeoutMs: options.readyTimeoutMs ?? 15_000 });
  };
  try {
    await start();
  } catch (err) {
    await proc?.kill();
    removeDir(dir);
    throw err;
  }
  return {
    host,
    port,
    user: options.user,
    pass: options.pass,
    readOnlyUser,
    sensorName: SENSOR_NAME,
    setPower,
    expectedSdrWatts: () => sdrWatts,
    satelliteAddress: options.satellite === undefined ? undefined : 0x30,
    setSatellitePower,
    async restart() {
      await proc?.kill();
      await start();
    },
    async stop() {
      await proc?.stop();
      removeDir(dir);
    },
    logs: () => proc?.logs ?? '',
  };
}
