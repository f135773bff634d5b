import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** An unauthenticated IPMI v1.5 request (RMCP, session header with auth type none) to the BMC, netfn App. */
function sessionlessAppRequest(cmd: number, data: readonly number[]): Buffer {
  const checksum = (bytes: readonly number[]): number => -bytes.reduce((a, b) => a + b, 0) & 0xff;
  const head = [0x20, 0x06 << 2];
  const tail = [0x81, 0x04, cmd, ...data];
  const msg = [...head, checksum(head), ...tail, checksum(tail)];
  return Buffer.from([0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, msg.length, ...msg]);
}

/** Sends `request` to `host:port` and resolves with the first answer, or undefined after `timeoutMs`. */
function udpRequest(host: string, port: number, request: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolvePromise) => {
    const sock = createSocket('udp4');
    const done = (answer: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolvePromise(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('message', (msg: Buffer) => done(msg));
    sock.on('error', () => done(undefined));
    sock.send(request, port, host);
  });
}

/**
 * True once the BMC answers an IPMI request: an unauthenticated IPMI v1.5 Get Channel Authentication
 * Capabilities, which (unlike an ASF presence ping, answered by the LAN layer alone) needs the MC to be up.
 */
async function ipmiPing(host: string, port: number, timeoutMs: number): Promise<boolean> {
  // Channel Eh with the v2.0 bit, ADMIN.
  return (await udpRequest(host, port, sessionlessAppRequest(0x38, [0x8e, 0x04]), timeoutMs)) !== undefined;
}

/**
 * The system GUID the BMC on `host:port` reports to a sessionless Get System GUID (hex), or undefined. Each
 * simulator gets a random one, so this tells ours from another simulator on the same port.
 */
async function systemGuid(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  const answer = await udpRequest(host, port, sessionlessAppRequest(0x37, []), timeoutMs);
  // RMCP 4 + session header 10 (auth type none), then rqAddr, netFn, checksum, rsAddr, rqSeq, cmd, completion
  // code, 16 bytes of GUID, checksum.
  if (answer === undefined || answer.length < 14 + 7 + 16 + 1 || answer[13 + 6] !== 0x37 || answer[13 + 7] !== 0x00) return undefined;
  return answer.subarray(14 + 7, 14 + 7 + 16).toString('hex');
}

/** Whether a UDP socket can be bound to 127.0.0.1:`port` now, with or without SO_REUSEADDR. */
function udpBindable(port: number, reuseAddr: boolean): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const sock = createSocket({ type: 'udp4', reuseAddr });
    sock.once('error', () => {
      sock.close();
      resolvePromise(false);
    });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolvePromise(true)));
  });
}

/**
 * The number of UDP sockets bound to `port` on 127.0.0.1 or 0.0.0.0, from `/proc/net/udp`; undefined where
 * that does not exist (not Linux).
 */
function udpSocketsOn(port: number): number | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[1] ?? '')
    .filter((local) => local === `0100007F:${hexPort}` || local === `00000000:${hexPort}`).length;
}

/**
 * ipmi_sim binds its LAN port with SO_REUSEADDR, so unlike the other peers it does not fail when another
 * ipmi_sim (or any program that also set SO_REUSEADDR) already holds the port: both run, and the kernel hands
 * the datagrams to one of them. Refuse to start in that case. A holder that did not set SO_REUSEADDR makes
 * ipmi_sim itself fail ("Unable to bind to LAN port"), reported as usual.
 */
async function refuseSharedPort(port: number): Promise<void> {
  if (!(await udpBindable(port, false)) && (await udpBindable(port, true))) throw portSharedError(port);
}

function portSharedError(port: number): Error {
  return new Error(
    `ipmi_sim: udp 127.0.0.1:${port} is already in use by another program that lets others bind it too (e.g. another ipmi_sim); not starting a second simulator there`,
  );
}

/**
 * Starts OpenIPMI's `ipmi_sim` on 127.0.0.1 with one BMC: an ADMIN and a USER-only user, a Watts full SDR
 * sensor polled from a file, optionally the DCMI module of `native/dcmi-power`. Needs `ipmi_sim` and
 * `sdrcomp` (Debian `openipmi`), and for DCMI `gcc` plus `libopenipmi-dev`.
 */
export async function startIpmiSim(options: IpmiSimOptions): Promise<IpmiSimHandle> {
  const host = '127.0.0.1';
  const port = options.port ?? (await getFreeUdpPort());
  // Unique per simulator: Get System GUID then tells ours from another one answering on the port.
  const guid = randomBytes(16).toString('hex');
  const dir = makeTempDir('ipmisim');
  const name = 'ersim';
  const stateDir = join(dir, 'state');
  const persistDir = join(stateDir, 'ipmi_sim', name);
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
    mkdirSync(persistDir, { recursive: true });
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
    guid ${guid}
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
    await refuseSharedPort(port);
    const p = new ManagedProcess('ipmi_sim', args, { cwd: dir });
    proc = p;
    await p.waitReady(
      async () => (await ipmiPing(host, port, 300)) && (await systemGuid(host, port, 300)) === guid,
      `ipmi_sim on ${host}:${port}`,
      { timeoutMs: options.readyTimeoutMs ?? 15_000 },
    );
    // Another program may have bound the port with SO_REUSEADDR between the check above and ipmi_sim's bind.
    const sockets = udpSocketsOn(port);
    if (sockets !== undefined && sockets > 1) {
      await p.kill();
      throw portSharedError(port);
    }
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
