import {
  AdapterError,
  nowNs,
  type AdapterContext,
  type AdapterDefinition,
  type PowerAdapter,
  type Reading,
} from '@energyrecorder/core';
import { credentialsOf, timeoutMsOf } from '../internal/http-config.js';
import { HttpClient, detectScheme, parseDeviceAddress } from '../internal/http.js';
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
    const address = parseDeviceAddress(config.host);
    const scheme = address.scheme ?? (config.scheme === 'auto' ? undefined : config.scheme);
    const credentials = credentialsOf(config);
    const client = new HttpClient({
      adapterType: TYPE,
      target: config.host,
      origin: `${scheme ?? 'https'}://${address.hostPort}`,
      timeoutMs: timeoutMsOf(config, ctx.requestTimeoutMs),
      verifyCert: config.verify_cert,
      ...(config.ca_file === undefined ? {} : { caFile: config.ca_file }),
      credentials,
      authScheme: 'basic',
      logger: ctx.logger,
    });
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
    let schemeKnown = false;
    return {
      async read(signal: AbortSignal): Promise<Reading[]> {
        const timestampNs = nowNs();
        if (!schemeKnown) {
          await detectScheme(client, { ...address, scheme }, `${address.basePath}/redfish/v1/`, signal);
          schemeKnown = true;
        }
        try {
          return await reader.read(signal, timestampNs);
        } catch (err) {
          if (err instanceof AdapterError) throw err;
          throw client.error(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`, 'ER_ADAPTER', {
            cause: err,
          });
        }
      },
      async close(): Promise<void> {
        await session.logout();
        client.close();
      },
    };
  },
});
