import { createSocket } from 'node:dgram';
import { AdapterError, noopLogger, type AdapterContext, type LogFields, type Logger, type Reading } from '@energyrecorder/core';
import { peerAvailable, startSnmpd, type SnmpdPeer, type SnmpdValueType } from '@energyrecorder/testkit';
import { snmpAdapterDefinition } from '../../src/snmp/adapter.js';
import { snmpConfigSchema } from '../../src/snmp/config.js';
import { isDesPrivacyAvailable } from '../../src/snmp/protocols.js';

const haveSnmpd = peerAvailable('snmpd', ['snmpd']);
const d = haveSnmpd ? describe : describe.skip;

const COMMUNITY = 'er-test-ro';
const V3 = { user: 'erv3', authProtocol: 'SHA', authKey: 'auth-secret-1', privProtocol: 'AES', privKey: 'priv-secret-1' };
const BASE = '1.3.6.1.4.1.99999';

/** One v3 user per protocol pair: the original's config names, and the Net-SNMP names snmpd is given. */
const V3_PAIRS = [
  { user: 'md5aes', auth: ['HMAC-MD5-96', 'MD5'], priv: ['AES', 'AES'] },
  { user: 'sha224aes', auth: ['HMAC-SHA-2-128', 'SHA-224'], priv: ['CFB128-AES-128', 'AES'] },
  { user: 'sha256aes256b', auth: ['HMAC-SHA-2-256', 'SHA-256'], priv: ['CFB256-AES-BLU', 'AES-256'] },
  { user: 'sha384aes256r', auth: ['HMAC-SHA-2-384', 'SHA-384'], priv: ['CFB128-AES-256', 'AES-256-C'] },
  { user: 'sha512nopriv', auth: ['HMAC-SHA-2-512', 'SHA-512'], priv: ['NO-PRIVACY', undefined] },
  { user: 'noauthuser', auth: ['NONE', undefined], priv: ['NO-PRIVACY', undefined] },
] as const;
const PAIR_AUTH_KEY = 'pair-auth-key-1';
const PAIR_PRIV_KEY = 'pair-priv-key-1';

/** Value types snmpd's `pass_persist` takes beyond the testkit's list; its handler hands the type on as given. */
const COUNTER64 = 'counter64' as SnmpdValueType;
const OPAQUE = 'opaque' as SnmpdValueType;

/** Net-SNMP's Opaque float / double encodings (`9f 78 04` / `9f 79 08` + IEEE 754 big-endian) as pass_persist hex. */
function opaqueHex(v: number, kind: 'float' | 'double'): string {
  const b = kind === 'float' ? Buffer.from([0x9f, 0x78, 0x04, 0, 0, 0, 0]) : Buffer.from([0x9f, 0x79, 0x08, 0, 0, 0, 0, 0, 0, 0, 0]);
  if (kind === 'float') b.writeFloatBE(v, 3);
  else b.writeDoubleBE(v, 3);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

interface RelayOptions {
  /** Swallow every datagram, as a host that is up but has no agent listening behind a firewall. */
  drop?: boolean;
  /** Swallow only the first this many datagrams, as a lossy link. */
  dropFirst?: number;
  /** Changes the agent's answers on their way back. */
  rewriteAnswer?: (msg: Buffer) => Buffer;
}

/** A UDP relay on the loopback in front of the agent that counts the datagrams the adapter sends. */
async function startRelay(agentPort: number, options: RelayOptions = {}): Promise<{ port: number; sent: () => number; close: () => Promise<void> }> {
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  let client: { address: string; port: number } | undefined;
  let count = 0;
  front.on('message', (msg, rinfo) => {
    count += 1;
    client = { address: rinfo.address, port: rinfo.port };
    if (options.drop !== true && count > (options.dropFirst ?? 0)) back.send(msg, agentPort, '127.0.0.1');
  });
  back.on('message', (msg) => {
    if (client !== undefined) front.send(options.rewriteAnswer?.(msg) ?? msg, client.port, client.address);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(0, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => back.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: front.address().port,
    sent: () => count,
    close: async () => {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => back.close(() => resolve()));
    },
  };
}

interface Captured {
  level: string;
  fields: LogFields;
  message: string | undefined;
}

function captureLogger(lines: Captured[]): Logger {
  const log =
    (level: string) =>
    (fields: LogFields, message?: string): void => {
      lines.push({ level, fields, message });
    };
  const logger: Logger = {
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

function ctx(logger: Logger = noopLogger): AdapterContext {
  return { logger, requestTimeoutMs: 1000, equipmentId: 'pdu-1' };
}

function create(entry: Record<string, unknown>, logger?: Logger) {
  const config = snmpConfigSchema.parse({ id: 'pdu-1', type: 'snmp', ...entry });
  return snmpAdapterDefinition.create(config, ctx(logger));
}

function byName(readings: Reading[]): Record<string, Reading> {
  return Object.fromEntries(readings.map((r) => [r.sensor, r]));
}

async function readError(p: Promise<unknown>): Promise<AdapterError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AdapterError) return err;
    throw err;
  }
  throw new Error('expected the read to fail');
}

d('snmp adapter against a real snmpd', () => {
  let agent: SnmpdPeer;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    agent = await startSnmpd({
      community: COMMUNITY,
      v3User: V3,
      v3Users: [...V3_PAIRS, { user: 'md5des', auth: ['', 'MD5'], priv: ['', 'DES'] } as const].map((p) => ({
        user: p.user,
        ...(p.auth[1] === undefined ? {} : { authProtocol: p.auth[1], authKey: PAIR_AUTH_KEY }),
        ...(p.priv[1] === undefined ? {} : { privProtocol: p.priv[1], privKey: PAIR_PRIV_KEY }),
      })),
      values: [
        [`${BASE}.1.0`, 'integer', 230],
        [`${BASE}.2.0`, 'gauge', 1234],
        [`${BASE}.3.0`, 'string', 'on'],
        [`${BASE}.4.0`, 'string', 'Unavailable'],
        [`${BASE}.5.0`, 'string', '12.5'],
        [`${BASE}.6.0`, COUNTER64, '123331043773177'],
        [`${BASE}.7.0`, OPAQUE, opaqueHex(230.5, 'float')],
        [`${BASE}.8.0`, OPAQUE, opaqueHex(49.98765432101, 'double')],
        [`${BASE}.9.0`, OPAQUE, '9f 76 01 01'],
        [`${BASE}.10.1`, 'integer', 10],
        [`${BASE}.10.2`, 'integer', 20],
        [`${BASE}.10.3`, 'integer', 30],
      ],
    });
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await agent?.stop();
  });

  const sensors = [
    { name: 'voltage', oid: `${BASE}.1.0`, unit: 'V' },
    { name: 'power', oid: `.${BASE}.2.0`, unit: 'W', scale: 0.1, offset: 1 },
    { name: 'relay', oid: `${BASE}.3.0`, unit: 'state' },
    { name: 'broken', oid: `${BASE}.4.0`, unit: 'W' },
    { name: 'text-number', oid: `${BASE}.5.0`, unit: 'A' },
  ];

  it('reads every sensor in one poll when the version is v2c', async () => {
    const lines: Captured[] = [];
    const adapter = create({ host: agent.host, port: agent.port, version: 'v2c', community: COMMUNITY, sensors }, captureLogger(lines));
    closers.push(() => adapter.close());
    const readings = byName(await adapter.read(new AbortController().signal));
    expect(readings['voltage']).toMatchObject({ value: 230, unit: 'V' });
    expect(readings['power']).toMatchObject({ value: 124.4, unit: 'W' });
    expect(readings['relay']).toMatchObject({ value: 1, unit: 'boolean' });
    expect(readings['text-number']).toMatchObject({ value: 12.5, unit: 'A' });
    expect(readings['broken']).toBeUndefined();
    expect(lines.some((l) => l.level === 'warn' && l.fields['sensor'] === 'broken')).toBe(true);
  });

  it('reads Counter64 with every digit and Net-SNMP Opaque floats and doubles', async () => {
    const lines: Captured[] = [];
    const adapter = create(
      {
        host: agent.host,
        port: agent.port,
        community: COMMUNITY,
        sensors: [
          { name: 'energy', oid: `${BASE}.6.0`, unit: 'Wh' },
          { name: 'energy-kwh', oid: `${BASE}.6.0`, unit: 'kWh', scale: 0.001 },
          { name: 'voltage', oid: `${BASE}.7.0`, unit: 'V' },
          { name: 'frequency', oid: `${BASE}.8.0`, unit: 'Hz' },
          { name: 'opaque-counter', oid: `${BASE}.9.0`, unit: 'x' },
        ],
      },
      captureLogger(lines),
    );
    closers.push(() => adapter.close());
    const readings = await adapter.read(new AbortController().signal);
    expect(readings.map((r) => [r.sensor, r.value])).toEqual([
      ['energy', 123331043773177],
      ['energy-kwh', 123331043773.177],
      ['voltage', 230.5],
      ['frequency', 49.98765432101],
    ]);
    // Other Opaque contents stay skipped with a warning naming the sensor.
    expect(lines.some((l) => l.level === 'warn' && l.fields['sensor'] === 'opaque-counter')).toBe(true);
  });

  it('never puts the configured community in the error when the answer carries another one', async () => {
    // A proxy or NAT in front of the agent answering with its own community (same length, so BER lengths hold).
    const sent = Buffer.from(COMMUNITY);
    const other = Buffer.from('x'.repeat(COMMUNITY.length));
    const relay = await startRelay(agent.port, {
      rewriteAnswer: (msg) => {
        const at = msg.indexOf(sent);
        return at < 0 ? msg : Buffer.concat([msg.subarray(0, at), other, msg.subarray(at + sent.length)]);
      },
    });
    closers.push(relay.close);
    const lines: Captured[] = [];
    const adapter = create({ host: agent.host, port: relay.port, community: COMMUNITY, sensors, retries: 0 }, captureLogger(lines));
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    expect(err.code).toBe('ER_SNMP');
    expect(err.message).toContain('community in the answer does not match the configured one');
    const everything = [err.message, err.stack, String(err.cause), (err.cause as Error | undefined)?.stack, JSON.stringify(lines)].join('\n');
    expect(everything).not.toContain(COMMUNITY);
    expect(everything).not.toContain(other.toString());
  });

  it('sends one GET per poll for all sensors when none is walked', async () => {
    const relay = await startRelay(agent.port);
    closers.push(relay.close);
    const adapter = create({ host: agent.host, port: relay.port, version: 'v2c', community: COMMUNITY, sensors });
    closers.push(() => adapter.close());
    await adapter.read(new AbortController().signal);
    const first = relay.sent();
    const readings = await adapter.read(new AbortController().signal);
    expect(readings).toHaveLength(4);
    expect([first, relay.sent() - first]).toEqual([1, 1]);
  });

  it('fails with ER_SNMP_TIMEOUT after every retry when the agent never answers', async () => {
    const relay = await startRelay(agent.port, { drop: true });
    closers.push(relay.close);
    const adapter = create({ host: agent.host, port: relay.port, community: COMMUNITY, sensors, timeout: 0.2, retries: 2 });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    expect(err.code).toBe('ER_SNMP_TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('3 tries');
    expect(relay.sent()).toBe(3);
  });

  it('resends within the collector read deadline when no timeout is set, so one lost datagram costs no poll', async () => {
    const relay = await startRelay(agent.port, { dropFirst: 1 });
    closers.push(relay.close);
    // The collector gives its read deadline as the request timeout and aborts the read when it passes.
    const config = snmpConfigSchema.parse({ id: 'pdu-1', type: 'snmp', host: agent.host, port: relay.port, community: COMMUNITY, sensors, retries: 2 });
    const adapter = snmpAdapterDefinition.create(config, { logger: noopLogger, requestTimeoutMs: 900, equipmentId: 'pdu-1' });
    closers.push(() => adapter.close());
    const readings = await adapter.read(AbortSignal.timeout(900));
    expect(byName(readings)['voltage']?.value).toBe(230);
    expect(relay.sent()).toBe(2);
  });

  it('reads with SNMPv1 when the version is v1', async () => {
    const adapter = create({ host: agent.host, port: agent.port, version: 'v1', community: COMMUNITY, sensors });
    closers.push(() => adapter.close());
    const readings = byName(await adapter.read(new AbortController().signal));
    expect(readings['voltage']?.value).toBe(230);
    expect(readings['power']?.value).toBe(124.4);
  });

  it('keeps the other sensors when one OID is unknown to a v1 agent', async () => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      version: 'v1',
      community: COMMUNITY,
      sensors: [...sensors, { name: 'missing', oid: `${BASE}.77.0`, unit: 'W' }],
    });
    closers.push(() => adapter.close());
    const readings = byName(await adapter.read(new AbortController().signal));
    expect(readings['voltage']?.value).toBe(230);
    expect(readings['missing']).toBeUndefined();
  });

  it('sends real SNMPv2c when the original "v2" is configured', async () => {
    const lines: Captured[] = [];
    const adapter = create(
      {
        host: agent.host,
        port: agent.port,
        version: 'v2',
        community: COMMUNITY,
        sensors: [sensors[0], { name: 'missing', oid: `${BASE}.77.0`, unit: 'W' }],
      },
      captureLogger(lines),
    );
    closers.push(() => adapter.close());
    const readings = await adapter.read(new AbortController().signal);
    expect(readings.map((r) => r.sensor)).toEqual(['voltage']);
    // v2c reports the unknown OID in its own varbind (noSuchObject); v1 would have failed the whole GET.
    expect(lines.some((l) => l.fields['sensor'] === 'missing' && String(l.fields['reason']).startsWith('noSuch'))).toBe(true);
    expect(lines.some((l) => (l.message ?? '').includes('SNMPv1 noSuchName'))).toBe(false);
  });

  it('fails with ER_ABORTED when the poll is aborted while waiting', async () => {
    const adapter = create({ host: agent.host, port: agent.port, community: 'wrong', sensors, timeout: 5, retries: 0 });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(AbortSignal.timeout(100)));
    expect(err.code).toBe('ER_ABORTED');
  });

  it('reads with v3 authPriv SHA/AES when the original key names are given', async () => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      version: 'v3',
      username: V3.user,
      auth_protocole: 'SHA-1',
      auth_secret: V3.authKey,
      privacy_protocole: 'CFB128-AES-128',
      privacy_secret: V3.privKey,
      sensors,
    });
    closers.push(() => adapter.close());
    const readings = byName(await adapter.read(new AbortController().signal));
    expect(readings['voltage']?.value).toBe(230);
    expect(readings['relay']?.unit).toBe('boolean');
  });

  it.each(V3_PAIRS)('reads with v3 user $user when its protocols are given by their original names', async (pair) => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      version: 'v3',
      username: pair.user,
      auth_protocole: pair.auth[0],
      auth_secret: PAIR_AUTH_KEY,
      privacy_protocole: pair.priv[0],
      privacy_secret: PAIR_PRIV_KEY,
      sensors: [sensors[0]],
    });
    closers.push(() => adapter.close());
    expect((await adapter.read(new AbortController().signal)).map((r) => r.value)).toEqual([230]);
  });

  it('fails with ER_SNMP_AUTH when the v3 user is unknown', async () => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      version: 'v3',
      username: 'nobody-here',
      auth_secret: V3.authKey,
      privacy_secret: V3.privKey,
      sensors,
    });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    expect(err.code).toBe('ER_SNMP_AUTH');
    expect(err.message).not.toContain(V3.authKey);
  });

  it('fails with ER_SNMP_TIMEOUT naming the privacy key when only that key is wrong', async () => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      version: 'v3',
      username: V3.user,
      auth_protocole: 'SHA',
      auth_secret: V3.authKey,
      privacy_protocole: 'AES',
      privacy_secret: 'not-the-priv-key',
      sensors,
      timeout: 0.5,
      retries: 0,
    });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    // snmpd counts a decryption error but sends no report, so the client only sees silence.
    expect(err.code).toBe('ER_SNMP_TIMEOUT');
    expect(err.message).toContain('wrong privacy key');
    expect(err.message).not.toContain('not-the-priv-key');
  });

  it('reads with CBC-DES privacy, or refuses it at config time when this Node has no DES', async () => {
    const entry = {
      host: agent.host,
      port: agent.port,
      version: 'v3',
      username: 'md5des',
      auth_protocole: 'HMAC-MD5-96',
      auth_secret: PAIR_AUTH_KEY,
      privacy_protocole: 'CBC-DES',
      privacy_secret: PAIR_PRIV_KEY,
      sensors: [sensors[0]],
    };
    if (!isDesPrivacyAvailable()) {
      const parsed = snmpConfigSchema.safeParse(entry);
      expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
        expect.stringMatching(/^privacy_protocole: CBC-DES needs OpenSSL's legacy provider/),
      ]);
      return;
    }
    const adapter = create(entry);
    closers.push(() => adapter.close());
    expect((await adapter.read(new AbortController().signal)).map((r) => r.value)).toEqual([230]);
  });

  it('sees values changed at run time on the next poll', async () => {
    const adapter = create({ host: agent.host, port: agent.port, community: COMMUNITY, sensors: [sensors[1]] });
    closers.push(() => adapter.close());
    agent.set(`${BASE}.2.0`, 'gauge', 5000);
    const first = await adapter.read(new AbortController().signal);
    agent.set(`${BASE}.2.0`, 'gauge', 7000);
    const second = await adapter.read(new AbortController().signal);
    agent.set(`${BASE}.2.0`, 'gauge', 1234);
    expect(first[0]?.value).toBe(501);
    expect(second[0]?.value).toBe(701);
  });

  it('walks a subtree only for sensors marked walk', async () => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      community: COMMUNITY,
      sensors: [{ name: 'outlet', oid: `${BASE}.10`, unit: 'W', walk: true }],
    });
    closers.push(() => adapter.close());
    const readings = await adapter.read(new AbortController().signal);
    expect(readings.map((r) => [r.sensor, r.value])).toEqual([
      ['outlet.1', 10],
      ['outlet.2', 20],
      ['outlet.3', 30],
    ]);
  });

  it('fails with ER_SNMP_TIMEOUT when the community is wrong', async () => {
    const adapter = create({ host: agent.host, port: agent.port, community: 'wrong', sensors, timeout: 0.3, retries: 0 });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    expect(err.code).toBe('ER_SNMP_TIMEOUT');
    expect(err.message).toContain('wrong community');
    expect(err.retryable).toBe(true);
  });

  it('fails with ER_SNMP_AUTH when the v3 key is wrong', async () => {
    const adapter = create({
      host: agent.host,
      port: agent.port,
      version: 'v3',
      username: V3.user,
      auth_protocole: 'SHA',
      auth_secret: 'not-the-right-key',
      privacy_protocole: 'AES',
      privacy_secret: V3.privKey,
      sensors,
    });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    expect(err.code).toBe('ER_SNMP_AUTH');
    expect(err.retryable).toBe(false);
  });

  it('fails with ER_SNMP_TIMEOUT when nothing listens on the port', async () => {
    const adapter = create({ host: agent.host, port: 9, community: COMMUNITY, sensors, timeout: 0.3, retries: 0 });
    closers.push(() => adapter.close());
    const err = await readError(adapter.read(new AbortController().signal));
    expect(['ER_SNMP_TIMEOUT', 'ER_SNMP']).toContain(err.code);
    expect(err.adapterType).toBe('snmp');
  });

  it('recovers on the next poll after a failed one', async () => {
    const adapter = create({ host: agent.host, port: agent.port, community: COMMUNITY, sensors: [sensors[0]], timeout: 0.5 });
    closers.push(() => adapter.close());
    agent.remove(`${BASE}.1.0`);
    expect(await adapter.read(new AbortController().signal)).toEqual([]);
    agent.set(`${BASE}.1.0`, 'integer', 231);
    expect((await adapter.read(new AbortController().signal))[0]?.value).toBe(231);
  });
});

d('snmp presets against snmpd serving the vendor OIDs', () => {
  let agent: SnmpdPeer;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    agent = await startSnmpd({
      community: COMMUNITY,
      subtrees: ['1.3.6.1.4.1', '1.3.6.1.2.1.33'],
      values: [
        // APC rPDU2: 6130 W as hundredths of kW, 482.1 kWh as tenths; outlet 3 metered in W and tenths of kWh.
        ['1.3.6.1.4.1.318.1.1.26.4.3.1.5.1', 'integer', 613],
        ['1.3.6.1.4.1.318.1.1.26.4.3.1.9.1', 'integer', 4821],
        ['1.3.6.1.4.1.318.1.1.26.9.4.3.1.7.3', 'integer', 180],
        ['1.3.6.1.4.1.318.1.1.26.9.4.3.1.11.3', 'integer', 57],
        // Raritan: inlet power with 1 decimal digit, energy with 0; outlet 2 power with 2 digits.
        ['1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5', 'gauge', 18055],
        ['1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.5', 'integer', 1],
        ['1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.8', 'gauge', 413682],
        ['1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.8', 'integer', 0],
        ['1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.5', 'gauge', 4250],
        ['1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.5', 'integer', 2],
        ['1.3.6.1.4.1.13742.6.5.4.3.1.4.1.2.8', 'gauge', 999],
        ['1.3.6.1.4.1.13742.6.3.5.4.1.7.1.2.8', 'integer', 0],
        // Sentry3 tower 1 infeed 2; Sentry4 unit 1 cord 1 outlet 5.
        ['1.3.6.1.4.1.1718.3.2.2.1.12.1.2', 'integer', 994],
        ['1.3.6.1.4.1.1718.3.2.2.1.16.1.2', 'integer', 12345],
        ['1.3.6.1.4.1.1718.4.1.3.3.1.3.1.1', 'integer', 888],
        ['1.3.6.1.4.1.1718.4.1.3.3.1.10.1.1', 'integer', 70],
        ['1.3.6.1.4.1.1718.4.1.8.3.1.7.1.1.5', 'integer', 95],
        ['1.3.6.1.4.1.1718.4.1.8.3.1.14.1.1.5', 'integer', 2000],
        // Eaton host unit (strapping 0), single-phase, input 1: inputTotalPowerTable and inputPowerTable row 1 (phase1)
        // agree; outlet 4.
        ['1.3.6.1.4.1.534.6.6.7.3.5.1.4.0.1', 'integer', 1500],
        ['1.3.6.1.4.1.534.6.6.7.3.5.1.5.0.1', 'gauge', 765432],
        ['1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.1', 'integer', 1500],
        ['1.3.6.1.4.1.534.6.6.7.3.4.1.5.0.1.1', 'gauge', 765432],
        ['1.3.6.1.4.1.534.6.6.7.6.5.1.3.0.4', 'integer', 120],
        ['1.3.6.1.4.1.534.6.6.7.6.5.1.4.0.4', 'gauge', 4321],
        // Eaton strapping 1, three-phase with inputTotalPowerTable: rows 1..3 are phase1..phase3 (inputPowerMeasType).
        ['1.3.6.1.4.1.534.6.6.7.3.5.1.4.1.1', 'integer', 4500],
        ['1.3.6.1.4.1.534.6.6.7.3.5.1.5.1.1', 'gauge', 9000000],
        ...[1, 2, 3].flatMap((row): Array<[string, SnmpdValueType, number]> => [
          [`1.3.6.1.4.1.534.6.6.7.3.4.1.2.1.1.${row}`, 'integer', row],
          [`1.3.6.1.4.1.534.6.6.7.3.4.1.4.1.1.${row}`, 'integer', 1500],
          [`1.3.6.1.4.1.534.6.6.7.3.4.1.5.1.1.${row}`, 'gauge', 3000000],
        ]),
        // Eaton strapping 2, three-phase without inputTotalPowerTable (NUT's "Marlin"): row 4 is the total.
        ...[1, 2, 3, 4].flatMap((row): Array<[string, SnmpdValueType, number]> => [
          [`1.3.6.1.4.1.534.6.6.7.3.4.1.2.2.1.${row}`, 'integer', row],
          [`1.3.6.1.4.1.534.6.6.7.3.4.1.4.2.1.${row}`, 'integer', row === 4 ? 4200 : 1400],
          [`1.3.6.1.4.1.534.6.6.7.3.4.1.5.2.1.${row}`, 'gauge', row === 4 ? 6000000 : 2000000],
        ]),
        // Eaton strapping 3, single-phase without inputTotalPowerTable: row 1 only.
        ['1.3.6.1.4.1.534.6.6.7.3.4.1.4.3.1.1', 'integer', 700],
        ['1.3.6.1.4.1.534.6.6.7.3.4.1.5.3.1.1', 'gauge', 123456],
        // Eaton strapping 4: the total answers -1 ("not available"), row 1 (phase 1 of three) a value.
        ['1.3.6.1.4.1.534.6.6.7.3.5.1.4.4.1', 'integer', -1],
        ['1.3.6.1.4.1.534.6.6.7.3.5.1.5.4.1', 'gauge', 50000],
        ['1.3.6.1.4.1.534.6.6.7.3.4.1.4.4.1.1', 'integer', 900],
        // APC rPDU2OutletSwitchedStatusState: INTEGER off(1), on(2); outlet 1 on, outlet 2 off.
        ['1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1', 'integer', 2],
        ['1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.2', 'integer', 1],
        // UPS-MIB (RFC 1628) upsOutputPower, W per output line, of a three-phase UPS.
        ['1.3.6.1.2.1.33.1.4.4.1.4.1', 'integer', 1200],
        ['1.3.6.1.2.1.33.1.4.4.1.4.2', 'integer', 1350],
        ['1.3.6.1.2.1.33.1.4.4.1.4.3', 'integer', 1100],
        // Sentry3 tower 2 and Sentry4 unit 2: readings the unit cannot measure answer -1.
        ['1.3.6.1.4.1.1718.3.2.2.1.12.2.1', 'integer', -1],
        ['1.3.6.1.4.1.1718.3.2.2.1.16.2.1', 'integer', -1],
        ['1.3.6.1.4.1.1718.4.1.3.3.1.3.2.1', 'integer', -1],
        ['1.3.6.1.4.1.1718.4.1.3.3.1.10.2.1', 'integer', 4321],
        ['1.3.6.1.4.1.1718.4.1.8.3.1.7.2.1.3', 'integer', -1],
        ['1.3.6.1.4.1.1718.4.1.8.3.1.14.2.1.3', 'integer', -1],
      ],
    });
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await agent?.stop();
  });

  async function readPreset(extra: Record<string, unknown>): Promise<Record<string, [number, string]>> {
    const adapter = create({ host: agent.host, port: agent.port, community: COMMUNITY, ...extra });
    closers.push(() => adapter.close());
    const readings = await adapter.read(new AbortController().signal);
    return Object.fromEntries(readings.map((r) => [r.sensor, [r.value, r.unit] as [number, string]]));
  }

  it('scales APC rPDU2 power and energy when the apc-rpdu preset is used', async () => {
    expect(await readPreset({ preset: 'apc-rpdu', outlets: [3] })).toEqual({
      power: [6130, 'W'],
      energy: [482.1, 'kWh'],
      'outlet3/power': [180, 'W'],
      'outlet3/energy': [5.7, 'kWh'],
    });
  });

  it('divides Raritan values by their decimal digits when the raritan-px preset is used', async () => {
    const lines: Captured[] = [];
    const adapter = create({ host: agent.host, port: agent.port, community: COMMUNITY, preset: 'raritan-px', outlets: [2] }, captureLogger(lines));
    closers.push(() => adapter.close());
    const first = await adapter.read(new AbortController().signal);
    // Digits are read once; a later change of the value alone must still be scaled with the cached digits.
    agent.set('1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5', 'gauge', 20000);
    const second = await adapter.read(new AbortController().signal);
    expect(Object.fromEntries(first.map((r) => [r.sensor, [r.value, r.unit]]))).toEqual({
      power: [1805.5, 'W'],
      energy: [413682, 'Wh'],
      'outlet2/power': [42.5, 'W'],
      'outlet2/energy': [999, 'Wh'],
    });
    expect(second.find((r) => r.sensor === 'power')?.value).toBe(2000);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('reads Sentry3 and Sentry4 infeed power and energy when their presets are used', async () => {
    expect(await readPreset({ preset: 'servertech-sentry3', inlet: 2 })).toEqual({ power: [994, 'W'], energy: [1234.5, 'kWh'] });
    expect(await readPreset({ preset: 'servertech-sentry4', outlets: [5] })).toEqual({
      power: [888, 'W'],
      energy: [7, 'kWh'],
      'outlet5/power': [95, 'W'],
      'outlet5/energy': [2000, 'Wh'],
    });
  });

  it('reads Eaton input and outlet watts when the eaton-epdu preset is used', async () => {
    expect(await readPreset({ preset: 'eaton-epdu', outlets: [4] })).toEqual({
      power: [1500, 'W'],
      energy: [765432, 'Wh'],
      'outlet4/power': [120, 'W'],
      'outlet4/energy': [4321, 'Wh'],
    });
  });

  it('reads the whole input of a three-phase Eaton ePDU, not its phase 1, when the eaton-epdu preset is used', async () => {
    expect(await readPreset({ preset: 'eaton-epdu', pdu: 1 })).toEqual({ power: [4500, 'W'], energy: [9000000, 'Wh'] });
    // Without inputTotalPowerTable, the three-phase total sits at inputPowerTable row 4; single-phase at row 1.
    expect(await readPreset({ preset: 'eaton-epdu', pdu: 2 })).toEqual({ power: [4200, 'W'], energy: [6000000, 'Wh'] });
    expect(await readPreset({ preset: 'eaton-epdu', pdu: 3 })).toEqual({ power: [700, 'W'], energy: [123456, 'Wh'] });
    // An SNMPv1 agent refuses a GET naming an OID it lacks (noSuchName): the candidates are then asked one by one.
    expect(await readPreset({ preset: 'eaton-epdu', pdu: 2, version: 'v1' })).toEqual({ power: [4200, 'W'], energy: [6000000, 'Wh'] });
    // An explicit power_index still reads that row.
    expect(await readPreset({ preset: 'eaton-epdu', pdu: 1, power_index: 2 })).toEqual({ power: [1500, 'W'], energy: [3000000, 'Wh'] });
  });

  it('keeps the Eaton OID it found for the next polls, and looks again once the agent drops it', async () => {
    const total = '1.3.6.1.4.1.534.6.6.7.3.5.1.4.2.1';
    const row4 = '1.3.6.1.4.1.534.6.6.7.3.4.1.4.2.1.4';
    const adapter = create({ host: agent.host, port: agent.port, community: COMMUNITY, preset: 'eaton-epdu', pdu: 2 });
    closers.push(() => adapter.close());
    const power = async (): Promise<Reading | undefined> => (await adapter.read(new AbortController().signal)).find((r) => r.sensor === 'power');
    try {
      expect(await power()).toMatchObject({ value: 4200, source: row4 });
      // Found once, row 4 is read from then on: a total table appearing later is not asked for.
      agent.set(total, 'integer', 9999);
      agent.set(row4, 'integer', 4300);
      expect(await power()).toMatchObject({ value: 4300, source: row4 });
      // The agent drops row 4: that poll misses the power, the next one looks through the candidates again.
      agent.remove(row4);
      expect(await power()).toBeUndefined();
      expect(await power()).toMatchObject({ value: 9999, source: total });
    } finally {
      agent.remove(total);
      agent.set(row4, 'integer', 4200);
    }
  });

  it('skips a -1 "not available" reading, and does not fall back to a phase row for it, when a preset is used', async () => {
    const lines: Captured[] = [];
    const read = async (extra: Record<string, unknown>): Promise<Record<string, number>> => {
      const adapter = create({ host: agent.host, port: agent.port, community: COMMUNITY, ...extra }, captureLogger(lines));
      closers.push(() => adapter.close());
      return Object.fromEntries((await adapter.read(new AbortController().signal)).map((r) => [r.sensor, r.value]));
    };
    expect(await read({ preset: 'servertech-sentry3', pdu: 2 })).toEqual({});
    expect(await read({ preset: 'servertech-sentry4', pdu: 2, outlets: [3] })).toEqual({ energy: 432.1 });
    expect(await read({ preset: 'eaton-epdu', pdu: 4 })).toEqual({ energy: 50000 });
    const skipped = lines.filter((l) => l.level === 'warn' && String(l.fields['reason']).includes('not available')).map((l) => l.fields['sensor']);
    expect(skipped).toEqual(['power', 'energy', 'power', 'outlet3/power', 'outlet3/energy', 'power']);
  });

  it('reads an APC switched outlet state as 1 on / 0 off with the offset of the example config', async () => {
    const state = (n: number, extra: Record<string, unknown>) => ({ name: `outlet${n}-state`, oid: `.1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.${n}`, unit: 'boolean', ...extra });
    // The MIB enumerates off(1), on(2): read as they are, "on" would be 2 and "off" 1.
    expect(await readPreset({ sensors: [state(1, {}), state(2, {})] })).toEqual({ 'outlet1-state': [2, 'boolean'], 'outlet2-state': [1, 'boolean'] });
    expect(await readPreset({ sensors: [state(1, { offset: -1 }), state(2, { offset: -1 })] })).toEqual({
      'outlet1-state': [1, 'boolean'],
      'outlet2-state': [0, 'boolean'],
    });
  });

  it('reports the total output power of a three-phase UPS when its UPS-MIB lines are walked and summed', async () => {
    const lines: Captured[] = [];
    const adapter = create(
      {
        host: agent.host,
        port: agent.port,
        community: COMMUNITY,
        sensors: [{ name: 'power', oid: '1.3.6.1.2.1.33.1.4.4.1.4', unit: 'W', walk: true, sum: true }],
      },
      captureLogger(lines),
    );
    closers.push(() => adapter.close());
    expect((await adapter.read(new AbortController().signal)).map((r) => [r.sensor, r.value, r.unit])).toEqual([['power', 3650, 'W']]);
    // A line that does not answer a number leaves no sum rather than a partial one.
    agent.set('1.3.6.1.2.1.33.1.4.4.1.4.2', 'string', 'Unavailable');
    try {
      expect(await adapter.read(new AbortController().signal)).toEqual([]);
      expect(lines.some((l) => l.level === 'warn' && l.fields['sensor'] === 'power' && String(l.fields['reason']).includes('.4.2'))).toBe(true);
    } finally {
      agent.set('1.3.6.1.2.1.33.1.4.4.1.4.2', 'integer', 1350);
    }
  });

  it('skips negative values of a hand-written sensor marked skip_negative', async () => {
    const readings = await readPreset({
      sensors: [
        { name: 'infeed', oid: '1.3.6.1.4.1.1718.3.2.2.1.12.2.1', unit: 'W', skip_negative: true },
        { name: 'raw', oid: '1.3.6.1.4.1.1718.3.2.2.1.12.2.1', unit: 'W' },
      ],
    });
    expect(readings).toEqual({ raw: [-1, 'W'] });
  });
});
