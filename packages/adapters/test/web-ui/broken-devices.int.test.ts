import { inspect } from 'node:util';
import { AdapterError, HttpStatusError, type AdapterDefinition, type PowerAdapter } from '@energyrecorder/core';
import { getFreePort } from '@energyrecorder/testkit';
import { idrac8GuiAdapter } from '../../src/idrac8-gui/adapter.js';
import { ibmcGuiAdapter } from '../../src/ibmc-gui/adapter.js';
import { iloGuiAdapter } from '../../src/ilo-gui/adapter.js';
import { iloAdapter } from '../../src/ilo/adapter.js';
import { intelGuiAdapter } from '../../src/intel-gui/adapter.js';
import { HttpClient } from '../../src/internal/http.js';
import { redfishAdapter } from '../../src/redfish/adapter.js';
import { rpimonAdapter } from '../../src/rpimon/adapter.js';
import { shellyAdapter } from '../../src/shelly/adapter.js';
import { captureLogger } from '../fakes/capture-logger.js';
import {
  startFakeIbmc,
  startFakeIdrac8,
  startFakeIloGui,
  startFakeIloRest,
  startFakeIntelGui,
  startFakeShelly,
  type FakeDevice,
} from '../fakes/http-devices.js';
import { sendText, startFakeServer, type FakeServer } from '../fakes/http-server.js';

const USER = 'admin';
// No characters that URL or JSON encoding would change, so one search finds it in any request body.
const PASS = 'Zq9-secret-Pw';
const SECRETS = [PASS, Buffer.from(`${USER}:${PASS}`).toString('base64')];

const ADAPTERS: AdapterDefinition[] = [
  redfishAdapter,
  iloAdapter,
  shellyAdapter,
  rpimonAdapter,
  iloGuiAdapter,
  idrac8GuiAdapter,
  intelGuiAdapter,
  ibmcGuiAdapter,
];

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
function keep<T extends { close(): Promise<void> }>(x: T): T {
  opened.push(x);
  return x;
}

function create(def: AdapterDefinition, entry: Record<string, unknown>): PowerAdapter {
  const config = def.configSchema.parse({ id: 'dev', type: def.type, user: USER, pass: PASS, ...entry });
  return keep(def.create(config, { logger: captureLogger(), requestTimeoutMs: 3000, equipmentId: 'dev' }));
}

async function failure(a: PowerAdapter): Promise<AdapterError> {
  const err: unknown = await a.read(new AbortController().signal).then(
    () => new Error('read succeeded'),
    (e: unknown) => e,
  );
  if (err instanceof AdapterError) return err;
  throw err;
}

/** The whole error chain as a logger that prints causes would see it. */
function expectNoSecret(err: unknown): void {
  const text = inspect(err, { depth: 50, showHidden: false });
  for (const s of SECRETS) expect(text).not.toContain(s);
}

async function fake(answer: 'hang' | '503'): Promise<FakeServer> {
  return keep(
    await startFakeServer((_req, _body, res) => {
      if (answer === '503') sendText(res, 503, 'busy', { 'retry-after': '7' });
    }),
  );
}

describe('HTTP adapters on broken devices', () => {
  it.each(ADAPTERS.map((d) => [d.type, d] as const))(
    '%s times out with a retryable error free of credentials when the device hangs',
    async (_type, def) => {
      const dev = await fake('hang');
      const err = await failure(create(def, { host: dev.origin, timeout: 0.3 }));
      expect(err).toMatchObject({ code: 'ER_ADAPTER_TIMEOUT', retryable: true, adapterType: def.type });
      expectNoSecret(err);
    },
  );

  it.each(ADAPTERS.map((d) => [d.type, d] as const))(
    '%s reports 503 as retryable with the Retry-After delay when the device is busy',
    async (_type, def) => {
      const dev = await fake('503');
      const err = await failure(create(def, { host: dev.origin }));
      expect(err).toMatchObject({ code: 'ER_ADAPTER_HTTP', retryable: true });
      expect(err.cause).toBeInstanceOf(HttpStatusError);
      expect((err.cause as HttpStatusError).retryAfterMs).toBe(7000);
    },
  );

  it.each(ADAPTERS.map((d) => [d.type, d] as const))(
    '%s fails as unreachable, without credentials in the error, when nothing listens',
    async (_type, def) => {
      const port = await getFreePort();
      const err = await failure(create(def, { host: `http://127.0.0.1:${port}` }));
      expect(err).toMatchObject({ code: 'ER_ADAPTER_UNREACHABLE', retryable: true });
      expectNoSecret(err);
    },
  );

  it('refuses an oversized answer as a payload error', async () => {
    const big = keep(await startFakeServer((_req, _body, res) => sendText(res, 200, `{"x":"${'a'.repeat(5000)}"}`)));
    const client = new HttpClient({ adapterType: 't', target: 't', origin: big.origin, timeoutMs: 2000, maxBodyBytes: 1000 });
    try {
      await expect(client.json({ path: '/' })).rejects.toMatchObject({ code: 'ER_ADAPTER_PAYLOAD' });
    } finally {
      client.close();
    }
  });
});

describe('HTTP adapters on null or wrong-typed readings', () => {
  const cases: [string, AdapterDefinition, () => Promise<FakeDevice>, string][] = [
    ['ilo', iloAdapter, () => startFakeIloRest({ firmware: '2.4', user: USER, pass: PASS }), '{"PowerDetail":[{"Average":null}]}'],
    ['shelly gen1', shellyAdapter, () => startFakeShelly({ gen: 1, user: USER, pass: PASS }), '{"meters":[{"power":null}]}'],
    ['shelly gen2', shellyAdapter, () => startFakeShelly({ gen: 2, user: USER, pass: PASS }), '{"id":0,"apower":"n/a"}'],
    ['ilo-gui', iloGuiAdapter, () => startFakeIloGui({ user: USER, pass: PASS }), '{"samples":[{"avg":null}]}'],
    ['idrac8-gui', idrac8GuiAdapter, () => startFakeIdrac8({ user: USER, pass: PASS }), '<root><powergraphdata><lastHourData><powerData><record></record></powerData></lastHourData></powergraphdata></root>'],
    ['intel-gui', intelGuiAdapter, () => startFakeIntelGui({ user: USER, pass: PASS }), "WEBVAR_JSONVAR_GETNMSTATISTICS = { WEBVAR_STRUCTNAME_GETNMSTATISTICS : [ { 'LSB_CURR' : null } ], HAPI_STATUS:0 };"],
    ['ibmc-gui', ibmcGuiAdapter, () => startFakeIbmc({ user: USER, pass: PASS }), '{%22SysPower%22:[{%22Power%22:%22--%22}]}'],
  ];

  it.each(cases)('%s gives a payload error naming the field, not a number, when the reading is bad', async (_name, def, start, payload) => {
    const dev = keep(await start());
    dev.payload = payload;
    const err = await failure(create(def, { host: dev.origin }));
    expect(err.code).toBe('ER_ADAPTER_PAYLOAD');
    expect(err.message).toMatch(/Average|power|avg|record|LSB_CURR|Power/);
  });
});
