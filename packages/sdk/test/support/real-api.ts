import { createApiServer, type ApiServer } from '@energyrecorder/api-server';

/** The real api-server with its embedded in-memory store on a free loopback port. */
export interface RealApi {
  server: ApiServer;
  /** The `/resources` base the SDK takes. */
  apiUrl: string;
  close(): Promise<void>;
}

export async function startRealApi(): Promise<RealApi> {
  const server = createApiServer({ port: 0, host: '127.0.0.1' });
  const base = await server.listen();
  return { server, apiUrl: `${base}/resources`, close: () => server.close() };
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
