import { join } from 'node:path';
import { createApiServer, type ApiEvent, type ApiServer } from '@energyrecorder/api-server';

/** A measurement as the real API stored it (from its `onEvent` hook). */
export interface StoredReading {
  environment: string;
  equipment: string;
  scenario: string;
  step: string;
  sensor: string;
  value: number;
  timestampNs: number;
}

/**
 * The real recording API with its embedded store in a file of `dir`, so it can be stopped and started again on
 * the same port with the same data. Every stored measurement lands in `stored`, across restarts.
 */
export class RealApi {
  readonly stored: StoredReading[] = [];
  private server: ApiServer | undefined;
  port = 0;

  /** `settings` are the api-server's own (`AUTH` for Basic auth), as its settings file would give them. */
  constructor(
    private readonly dir: string,
    private readonly settings?: Record<string, unknown>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createApiServer({
      ...(this.settings === undefined ? {} : { settings: this.settings, dashboard: false }),
      port: this.port,
      host: '127.0.0.1',
      storePath: join(this.dir, 'api.sqlite'),
      onEvent: (e: ApiEvent) => {
        if (e.type !== 'measurements') return;
        for (const r of e.readings) {
          this.stored.push({
            environment: e.environment,
            equipment: e.equipment,
            scenario: e.scenario,
            step: e.step,
            sensor: r.sensor,
            value: r.value,
            timestampNs: r.timestampNs,
          });
        }
      },
    });
    await server.listen();
    this.server = server;
    this.port = Number(new URL(server.url).port);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }

  /** Starts a scenario the way the SDK does. */
  async startScenario(environment: string, scenario: string, step: string): Promise<void> {
    const res = await fetch(`${this.url}/resources/recorders/environment/${encodeURIComponent(environment)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scenario, step }),
    });
    if (res.status !== 200) throw new Error(`start scenario: ${res.status} ${await res.text()}`);
  }

  valuesOf(equipment: string): number[] {
    return this.stored.filter((s) => s.equipment === equipment).map((s) => s.value);
  }
}
