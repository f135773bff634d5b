import { z } from 'zod';
import { AdapterError, HttpStatusError, type AdapterContext, type AdapterDefinition, type PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter } from '../internal/http-device.js';
import { HTTP_ERROR_CODES } from '../internal/http.js';
import {
  parseShellyGen1Status,
  parseShellyGen2Status,
  parseShellyGeneration,
  pickShellyComponent,
  shellyModel,
  ShellySetupProblem,
  type ShellyComponent,
} from './parsers.js';

const TYPE = 'shelly';

/** Defaults of the `shelly` keys, exported for the docs. */
export const DEFAULT_SHELLY = Object.freeze({ gen: 'auto' as const, channel: 0, auth: 'auto' as const });

/** A `shelly` device entry. `host` is a full URL as in the original (`http://1.2.3.4`); a bare host means http. */
export const shellyConfigSchema = z.looseObject({
  ...httpDeviceShape,
  /** `1` (`/status`), `2` (RPC, also Gen3/Gen4), or `auto` (asks `/shelly` once). */
  gen: z.union([z.literal('auto'), z.literal(1), z.literal(2)]).default(DEFAULT_SHELLY.gen),
  /** Gen1: index in `meters[]`/`emeters[]`; Gen2+: id of the metering component (`switch:N`, `pm1:N`, `em1:N`, `em:N`). */
  channel: z.number().int().min(0).default(DEFAULT_SHELLY.channel),
  /** `basic` (Gen1), `digest` (Gen2+), or `auto`: whatever the device challenges with. */
  auth: z.enum(['auto', 'basic', 'digest']).default(DEFAULT_SHELLY.auth),
});
/** A validated `shelly` device entry. */
export type ShellyConfig = z.output<typeof shellyConfigSchema>;

/** The HTTP status an `AdapterError` was raised for, if any. */
function httpStatusOf(err: unknown): number | undefined {
  return err instanceof AdapterError && err.cause instanceof HttpStatusError ? err.cause.status : undefined;
}

/** `shelly`: Shelly plugs, relays and energy meters, Gen1 `/status` and Gen2+ RPC, Basic or Digest auth. */
export const shellyAdapter: AdapterDefinition<typeof shellyConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'Shelly Gen1 (/status meters or emeters) and Gen2+ (RPC Switch/PM1/EM1/EM.GetStatus) plugs, relays and meters, Basic or Digest auth',
  configSchema: shellyConfigSchema,
  create(config: ShellyConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'http', authScheme: config.auth });
    const base = address.basePath;
    const channel = config.channel;
    const warn = (message: string): void => ctx.logger.warn({ adapterType: TYPE, channel }, message);
    let gen: 1 | 2 | undefined = config.gen === 'auto' ? undefined : config.gen;
    let model: string | undefined;
    /** The Gen2+ component read, found once from `Shelly.GetStatus` (`listed`) or assumed to be a switch. */
    let component: { kind: ShellyComponent; listed: boolean } | undefined;

    const readGen2 = async (signal: AbortSignal, timestampNs: number) => {
      if (component === undefined) {
        // Which component meters power depends on the model and its profile (Plug: switch; PM Mini: pm1; Pro EM: em1;
        // Pro 3EM: em, or em1 in the monophase profile): Shelly.GetStatus lists them with their status.
        const all = await client.json({ path: `${base}/rpc/Shelly.GetStatus`, signal }).catch((err: unknown) => {
          // Every Gen2+ firmware answers it; without it, read a switch as before this lookup existed.
          if (httpStatusOf(err) === 404) return undefined;
          throw err;
        });
        if (all !== undefined) {
          const found = pickShellyComponent(all, channel, model);
          component = { kind: found.kind, listed: true };
          return parseShellyGen2Status(found.kind, found.status, timestampNs, { channel, warn });
        }
        component = { kind: 'Switch', listed: false };
      }
      const { kind, listed } = component;
      try {
        const body = await client.json({ path: `${base}/rpc/${kind}.GetStatus?id=${channel}`, signal });
        return parseShellyGen2Status(kind, body, timestampNs, { channel, warn });
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw err;
        component = undefined;
        const what = `${kind}.GetStatus?id=${channel}: HTTP 404`;
        // A component found before and gone now: the profile changed (Pro 3EM triphase ⇄ monophase). Look again.
        if (listed) throw client.error(`${what}; the device's components are looked up again on the next read`, HTTP_ERROR_CODES.http, { cause: err, retryable: true });
        const device = model === undefined ? 'this device' : `this ${model}`;
        throw new ShellySetupProblem(`unsupported device/component: ${device} has no ${kind.toLowerCase()}:${channel} and does not list its components (${what})`);
      }
    };

    return httpPowerAdapter(client, async (signal, timestampNs) => {
      try {
        if (gen === undefined) {
          const info = await client.json({ path: `${base}/shelly`, signal, withAuth: false });
          gen = parseShellyGeneration(info);
          model = shellyModel(info);
        }
        if (gen === 1) {
          return parseShellyGen1Status(await client.json({ path: `${base}/status`, signal }), timestampNs, { channel, warn });
        }
        return await readGen2(signal, timestampNs);
      } catch (err) {
        if (err instanceof ShellySetupProblem) throw client.error(err.message, HTTP_ERROR_CODES.config, { cause: err, retryable: false });
        throw err;
      }
    });
  },
});
