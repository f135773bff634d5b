import { z } from 'zod';
import { AdapterError, nowNs, type AdapterDefinition, type PowerAdapter, type Reading } from '@energyrecorder/core';

const schema = z.looseObject({ url: z.url() });

/**
 * A minimal HTTP power meter adapter for tests: one GET of `url` per read, body `{"watts": <number>}`. Its twin
 * `test/fixtures/http-json-adapter.mjs` is loaded by the CLI with `--adapters`.
 */
export const httpJsonAdapter: AdapterDefinition<typeof schema> = {
  type: 'http-json',
  description: 'GET <url> → {"watts": n} (tests only)',
  configSchema: schema,
  create(config): PowerAdapter {
    return {
      async read(signal: AbortSignal): Promise<Reading[]> {
        let res: Response;
        try {
          res = await fetch(config.url, { signal });
        } catch (err) {
          throw new AdapterError('unreachable', { adapterType: 'http-json', target: config.url, cause: err });
        }
        if (!res.ok) {
          throw new AdapterError(`HTTP ${res.status}`, { adapterType: 'http-json', target: config.url });
        }
        const body = (await res.json()) as { watts?: unknown };
        if (typeof body.watts !== 'number') {
          throw new AdapterError('no watts', { adapterType: 'http-json', target: config.url });
        }
        return [{ sensor: 'power', unit: 'W', value: body.watts, timestampNs: nowNs() }];
      },
      close: async () => undefined,
    };
  },
};
