import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { credentialsOf } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter } from '../internal/http-device.js';
import { detectScheme } from '../internal/http.js';
import { redfishConfigSchema, type RedfishConfig } from './config.js';
import { RedfishReader } from './reader.js';
import { RedfishSession } from './session.js';

const TYPE = 'redfish';

/**
 * `redfish`: whole-device power from every DMTF power model (EnvironmentMetrics, PowerSubsystem, legacy Power,
 * Sensors), per-chassis detail, and temperatures from Thermal/ThermalSubsystem.
 */
export const redfishAdapter: AdapterDefinition<typeof redfishConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'DMTF Redfish BMC (any power model), session or Basic auth',
  configSchema: redfishConfigSchema,
  create(config: RedfishConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, {
      defaultScheme: config.scheme === 'auto' ? 'https' : config.scheme,
    });
    const credentials = credentialsOf(config);
    const session = new RedfishSession(client, {
      mode: credentials === undefined ? 'none' : config.auth,
      basePath: address.basePath,
      credentials,
      logger: ctx.logger,
    });
    const reader = new RedfishReader(session, {
      power: config.power,
      temperature: config.temperature,
      basePath: address.basePath,
      logger: ctx.logger,
      makeError: (message, code, cause) => client.error(message, code, { cause }),
    });
    // A scheme in `host` or a configured one is used as is; otherwise https first, http when nothing speaks TLS.
    const scheme = address.scheme ?? (config.scheme === 'auto' ? undefined : config.scheme);
    let schemeKnown = false;
    return httpPowerAdapter(
      client,
      async (signal, timestampNs) => {
        if (!schemeKnown) {
          await detectScheme(client, { ...address, scheme }, `${address.basePath}/redfish/v1/`, signal);
          schemeKnown = true;
        }
        return reader.read(signal, timestampNs);
      },
      () => session.logout(),
    );
  },
});
