import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendText, startFakeServer, type FakeServer } from '../fakes/http-server.js';

/** The text of a fixture in `test/shelly/fixtures`. */
export function shellyFixture(name: string): string {
  return readFileSync(join(__dirname, 'fixtures', name), 'utf8');
}

/** A fixture in `test/shelly/fixtures`, parsed. */
export function shellyJson<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(shellyFixture(name)) as T;
}

/** A fake Shelly of any model; its answers can be changed between reads. */
export interface FakeShellyModel extends FakeServer {
  /** `/shelly` answer. */
  info: Record<string, unknown>;
  /** Gen1: the `/status` answer. */
  status: Record<string, unknown> | undefined;
  /** Gen2+: the components by key (`switch:0`, `em:0`, …), as listed by `Shelly.GetStatus`. */
  components: Record<string, unknown> | undefined;
  /** Paths (with query) requested, in order. */
  hits: string[];
}

/**
 * A Shelly without auth. Gen1 (no `components`) serves `/shelly` and `/status`. Gen2+ serves `/shelly`,
 * `/rpc/Shelly.GetStatus` (the components plus the system ones every device has) and `/rpc/<Kind>.GetStatus?id=N`
 * for each component `<kind>:N`; an RPC the device has no component for gets 404 "No handler", as real firmware does.
 */
export async function startFakeShellyModel(opts: {
  info: Record<string, unknown>;
  status?: Record<string, unknown>;
  components?: Record<string, unknown>;
  /** Gen2+: answer `Shelly.GetStatus` with 404 like a method that does not exist (no real firmware does). */
  noShellyGetStatus?: boolean;
}): Promise<FakeShellyModel> {
  const fake = { info: opts.info, status: opts.status, components: opts.components, hits: [] as string[] } as FakeShellyModel;
  const json = (status: number, body: unknown) => ({ status, text: JSON.stringify(body) });
  const answer = (url: URL): { status: number; text: string } => {
    if (url.pathname === '/shelly') return json(200, fake.info);
    if (fake.components === undefined) return url.pathname === '/status' && fake.status !== undefined ? json(200, fake.status) : { status: 404, text: 'Not Found' };
    const rpc = /^\/rpc\/([A-Za-z0-9]+)\.GetStatus$/.exec(url.pathname);
    if (rpc?.[1] === 'Shelly' && opts.noShellyGetStatus !== true) {
      return json(200, {
        ble: {},
        cloud: { connected: false },
        mqtt: { connected: false },
        sys: { mac: fake.info['mac'], restart_required: false, time: '14:02', unixtime: 1700000000, uptime: 4242 },
        wifi: { sta_ip: '192.0.2.40', status: 'got ip', ssid: 'lab', rssi: -60 },
        ws: { connected: false },
        ...fake.components,
      });
    }
    const prefix = `${rpc?.[1]?.toLowerCase() ?? ''}:`;
    const own = Object.keys(fake.components).filter((k) => k.startsWith(prefix));
    if (rpc === null || own.length === 0) {
      const method = url.pathname.replace(/^\/rpc\//, '');
      return json(404, { code: 404, message: `No handler for ${method}` });
    }
    const id = url.searchParams.get('id') ?? '0';
    const component = fake.components[`${prefix}${id}`];
    return component === undefined ? json(400, { code: -105, message: `Argument 'id', value ${id} not found!` }) : json(200, component);
  };
  const server = await startFakeServer((req, _body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    fake.hits.push(url.pathname + url.search);
    const out = answer(url);
    sendText(res, out.status, out.text, { 'content-type': 'application/json' });
  });
  return Object.assign(fake, server);
}
