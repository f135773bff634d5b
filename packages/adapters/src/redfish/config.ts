import { z } from 'zod';
import { configBoolean } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';

/** Defaults of the `redfish` adapter keys, exported for the docs. */
export const DEFAULT_REDFISH = Object.freeze({
  power: true,
  temperature: true,
  auth: 'session' as const,
  scheme: 'auto' as const,
});

/**
 * A `redfish` device entry. The original's keys (`host`, `id`, `user`, `pass`, `power`, `temperature`) keep their
 * meaning; `temperatures`, the spelling of the original sample's comments, is accepted as an alias.
 */
export const redfishConfigSchema = z
  .looseObject({
    ...httpDeviceShape,
    power: configBoolean().default(DEFAULT_REDFISH.power),
    temperature: configBoolean().optional(),
    temperatures: configBoolean().optional(),
    /** `session` logs in through SessionService (Basic when the service has none); `basic` sends Basic auth. */
    auth: z.enum(['session', 'basic']).default(DEFAULT_REDFISH.auth),
    /** `auto` tries https then http, as the original; a scheme in `host` wins over this key. */
    scheme: z.enum(['auto', 'http', 'https']).default(DEFAULT_REDFISH.scheme),
  })
  .transform((c) => ({ ...c, temperature: c.temperature ?? c.temperatures ?? DEFAULT_REDFISH.temperature }));

/** A validated `redfish` device entry. */
export type RedfishConfig = z.output<typeof redfishConfigSchema>;
