import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter, powerReading } from '../internal/http-device.js';
import { iloMessageId, parseFastPowerMeter21, parseFastPowerMeter24, parseIloChassisHrefs } from './parsers.js';

const TYPE = 'ilo';

/** An `ilo` device entry: the original's `host`, `id`, `user`, `pass`, plus the shared HTTP keys. */
export const iloConfigSchema = z.looseObject({ ...httpDeviceShape });
/** A validated `ilo` device entry. */
export type IloConfig = z.output<typeof iloConfigSchema>;

/**
 * `ilo`: HP iLO 4 REST (`/rest/v1`) FastPowerMeter, firmware 2.1 and 2.4, summed over chassis; iLO 5 and later
 * through their `/rest/v1` → `/redfish/v1` redirect (the 2.4 layout, in a Redfish collection).
 */
export const iloAdapter: AdapterDefinition<typeof iloConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'HP iLO 4 REST API (/rest/v1) FastPowerMeter, firmware 2.1 and 2.4; iLO 5 and later through its /redfish/v1 redirect',
  configSchema: iloConfigSchema,
  create(config: IloConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'https' });
    const base = address.basePath;
    let hrefs: string[] | undefined;
    // iLO puts the reason of a refusal in `Messages[0].MessageID`; keep it in the error message.
    const getJson = async (path: string, signal: AbortSignal, missingOk = false): Promise<unknown> => {
      const res = await client.request({ path, signal, acceptStatus: [400, 401, 403, 404, 500] });
      if (missingOk && res.status === 404) return undefined;
      if (res.status < 300) return client.parseJson(res);
      let id: string | undefined;
      try {
        id = iloMessageId(JSON.parse(res.text) as unknown);
      } catch {
        id = undefined;
      }
      throw client.statusError({ ...res, what: `${res.what}${id === undefined ? '' : ` [${id}]`}` });
    };
    return httpPowerAdapter(client, async (signal, timestampNs) => {
      hrefs ??= parseIloChassisHrefs(await getJson(`${base}/rest/v1/Chassis`, signal));
      let total = 0;
      try {
        for (const href of hrefs) {
          const chassis = `${base}${href.replace(/\/+$/, '')}`;
          const fast = await getJson(`${chassis}/PowerMetrics/FastPowerMeter`, signal, true);
          total +=
            parseFastPowerMeter21(fast) ?? parseFastPowerMeter24(await getJson(`${chassis}/Power/FastPowerMeter`, signal));
        }
      } catch (err) {
        hrefs = undefined;
        throw err;
      }
      return powerReading(total, timestampNs, 'FastPowerMeter');
    });
  },
});
