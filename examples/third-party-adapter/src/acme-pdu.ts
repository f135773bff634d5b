import { z } from 'zod';
import { AdapterError, nowNs, type AdapterContext, type AdapterDefinition, type PowerAdapter, type Reading } from '@energyrecorder/core';

/**
 * Keys of an `acme-pdu` device entry. The whole `servers[]` entry is validated, so `id`, `type` and `active`
 * (handled by the collector) pass through a loose object.
 */
export const acmePduConfigSchema = z.looseObject({
  /** Base URL of the PDU's JSON API, e.g. `http://10.0.0.70`. */
  host: z.url({ protocol: /^https?$/, error: 'required: the PDU base URL, e.g. http://10.0.0.70' }).transform((u) => u.replace(/\/+$/, '')),
  /** Bearer token, when the PDU has one. Never logged. */
  token: z.string().min(1).optional(),
  /** Also send one `outlet-<n>/power` reading per outlet. */
  outlets: z.boolean().default(false),
});

/** A validated `acme-pdu` entry. */
export type AcmePduConfig = z.output<typeof acmePduConfigSchema>;

const statusSchema = z.object({
  total_watts: z.number().finite(),
  outlets: z.array(z.object({ id: z.number().int(), watts: z.number().finite() })).default([]),
});

/** Turns the PDU's `/api/v1/power` answer into readings; throws on a payload of another shape. */
export function parseAcmePduStatus(body: unknown, timestampNs: number, withOutlets: boolean): Reading[] {
  const status = statusSchema.parse(body);
  const readings: Reading[] = [{ sensor: 'power', unit: 'W', value: status.total_watts, timestampNs, source: 'total_watts' }];
  if (withOutlets) {
    for (const o of status.outlets) readings.push({ sensor: `outlet-${o.id}/power`, unit: 'W', value: o.watts, timestampNs, source: 'outlets' });
  }
  return readings;
}

/**
 * `acme-pdu`: a made-up rack PDU with a small JSON API, standing for any device the built-in adapters do not
 * know. Defined outside `@energyrecorder/adapters`: an `AdapterDefinition` is plain data (type, schema, factory),
 * so it is registered by listing it next to `builtinAdapters`.
 */
export const acmePduAdapter: AdapterDefinition<typeof acmePduConfigSchema> = Object.freeze({
  type: 'acme-pdu',
  description: 'ACME rack PDU JSON API (/api/v1/power): total and per-outlet power',
  configSchema: acmePduConfigSchema,
  create(config: AcmePduConfig, ctx: AdapterContext): PowerAdapter {
    const target = config.host;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (config.token !== undefined) headers['authorization'] = `Bearer ${config.token}`;
    return {
      async read(signal: AbortSignal): Promise<Reading[]> {
        const timestampNs = nowNs();
        const deadline = AbortSignal.any([signal, AbortSignal.timeout(ctx.requestTimeoutMs)]);
        let body: unknown;
        try {
          const res = await fetch(`${config.host}/api/v1/power`, { headers, signal: deadline });
          if (res.status === 401 || res.status === 403) {
            throw new AdapterError(`HTTP ${res.status}: check the token`, { adapterType: 'acme-pdu', target, code: 'ER_ADAPTER_AUTH', retryable: false });
          }
          if (!res.ok) throw new AdapterError(`HTTP ${res.status}`, { adapterType: 'acme-pdu', target });
          body = await res.json();
        } catch (err) {
          if (err instanceof AdapterError) throw err;
          throw new AdapterError(`cannot read the PDU: ${(err as Error).message}`, { adapterType: 'acme-pdu', target, cause: err });
        }
        try {
          return parseAcmePduStatus(body, timestampNs, config.outlets);
        } catch (err) {
          throw new AdapterError('unexpected payload', { adapterType: 'acme-pdu', target, code: 'ER_ADAPTER_PAYLOAD', retryable: false, cause: err });
        }
      },
      async close(): Promise<void> {
        // fetch keeps no session to release.
      },
    };
  },
});
