import { join } from 'node:path';
import { createApiServer, type ApiServer } from '@energyrecorder/api-server';
import { makeTempDir, removeDir, waitFor, type InfluxdPeer } from '@energyrecorder/testkit';

/** The real api-server on a free loopback port, with a real store behind it. */
export interface RealApi {
  server: ApiServer;
  /** The `/resources` base the SDK takes. */
  apiUrl: string;
  close(): Promise<void>;
}

/** One user of the API's `AUTH.users` (Basic auth; a reader gets 403 on POST/DELETE). */
export interface RealApiUser {
  name: string;
  password: string;
  role: 'writer' | 'reader';
}

/** The APIs started on influxd and not closed yet: {@link influxRows} waits for their write queues. */
const onInflux = new Set<ApiServer>();

/**
 * Starts the api-server in-process. Without `influx` it uses its embedded SQLite store in a file of a temp dir
 * (the production embedded store, on disk); with `influx` it writes to that influxd (database `NRG`, no auth),
 * through its write queue (on by default) in a temp dir.
 * With `users` (embedded store only) the API asks Basic auth of every call but the ping (`AUTH.users`).
 */
export async function startRealApi(options: { influx?: InfluxdPeer; users?: RealApiUser[] } = {}): Promise<RealApi> {
  let server: ApiServer;
  let dir: string | undefined;
  if (options.influx === undefined) {
    dir = makeTempDir('sdk-api-store');
    const storePath = join(dir, 'store.sqlite');
    server =
      options.users === undefined
        ? createApiServer({ port: 0, host: '127.0.0.1', storePath })
        : createApiServer({ settings: { AUTH: { users: options.users }, BIND: '127.0.0.1:0' }, port: 0, host: '127.0.0.1', storePath });
  } else {
    dir = makeTempDir('sdk-api-queue');
    const settings = { INFLUX: { host: options.influx.url, db: 'NRG', user: null, pass: null, timeout_ms: 4000, queue_dir: dir }, BIND: '127.0.0.1:0' };
    server = createApiServer({ settings, port: 0, host: '127.0.0.1' });
    onInflux.add(server);
  }
  const base = await server.listen();
  return {
    server,
    apiUrl: `${base}/resources`,
    close: async () => {
      onInflux.delete(server);
      await server.close();
      if (dir !== undefined) removeDir(dir);
    },
  };
}

/**
 * Rows of an InfluxQL query on database `NRG`, one object per row keyed by column name, once the APIs started here
 * have handed influxd every reading they acknowledged (their write queues are empty).
 */
export async function influxRows(peer: InfluxdPeer, q: string): Promise<Record<string, unknown>[]> {
  for (const server of onInflux) {
    await waitFor(() => (server.store.queue?.batches ?? 0) === 0, 'the API write queue to be sent to influxd', 10_000, 20);
  }
  const res = await fetch(`${peer.url}/query?${new URLSearchParams({ q, db: 'NRG' }).toString()}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { results?: { series?: { columns: string[]; values: unknown[][] }[] }[] };
  const rows: Record<string, unknown>[] = [];
  for (const series of body.results?.[0]?.series ?? []) {
    for (const values of series.values) rows.push(Object.fromEntries(series.columns.map((c, i) => [c, values[i]])));
  }
  return rows;
}

/** Posts power readings for `equipment` as a collector would, with explicit ns timestamps. */
export async function postPower(apiUrl: string, environment: string, equipment: string, samples: { timeNs: number; watts: number }[]): Promise<void> {
  const res = await fetch(`${apiUrl}/equipments/${encodeURIComponent(equipment)}/measurements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      environment,
      time: samples[0]?.timeNs,
      measurements: samples.map((s) => ({ sensor: 'power', unit: 'W', value: s.watts, time: s.timeNs })),
    }),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`measurements refused: ${res.status} ${await res.text()}`);
}
