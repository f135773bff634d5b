import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter } from '../internal/http-device.js';
import { parseShellyGen1Status, parseShellyGen2SwitchStatus, parseShellyGeneration } from './parsers.js';

const TYPE = 'shelly';

/** Defaults of the `shelly` keys, exported for the docs. */
export const DEFAULT_SHELLY = Object.freeze({ gen: 'auto' as const, channel: 0, auth: 'auto' as const });

/** A `shelly` device entry. `host` is a full URL as in the original (`http://1.2.3.4`); a bare host means http. */
export const shellyConfigSchema = z.looseObject({
  ...httpDeviceShape,
  /** `1` (`/status`), `2` (RPC, also Gen3/Gen4), or `auto` (asks `/shelly` once). */
  gen: z.union([z.literal('auto'), z.literal(1), z.literal(2)]).default(DEFAULT_SHELLY.gen),
  /** Switch id for Gen2+ RPC (`Switch.GetStatus?id=N`). */
  channel: z.number().int().min(0).default(DEFAULT_SHELLY.channel),
  /** `basic` (Gen1), `digest` (Gen2+), or `auto`: whatever the device challenges with. */
  auth: z.enum(['auto', 'basic', 'digest']).default(DEFAULT_SHELLY.auth),
});
/** A validated `shelly` device entry. */
export type ShellyConfig = z.output<typeof shellyConfigSchema>;

/** `shelly`: Shelly plugs and relays, Gen1 `/status` and Gen2+ RPC, Basic or Digest auth. */
export const shellyAdapter: AdapterDefinition<typeof shellyConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'Shelly Gen1 (/status) and Gen2+ (RPC Switch.GetStatus) plugs, Basic or Digest auth',
  configSchema: shellyConfigSchema,
  create(config: ShellyConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'http', authScheme: config.auth });
    const base = address.basePath;
    let gen: 1 | 2 | undefined = config.gen === 'auto' ? undefined : config.gen;
    return httpPowerAdapter(client, async (signal, timestampNs) => {
      gen ??= parseShellyGeneration(await client.json({ path: `${base}/shelly`, signal, withAuth: false }));
      if (gen === 1) return parseShellyGen1Status(await client.json({ path: `${base}/status`, signal }), timestampNs);
      const body = await client.json({ path: `${base}/rpc/Switch.GetStatus?id=${config.channel}`, signal });
      return parseShellyGen2SwitchStatus(body, timestampNs);
    });
  },
});
