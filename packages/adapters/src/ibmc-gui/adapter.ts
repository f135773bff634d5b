import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter, parseSetCookies, powerReading, withWebSession } from '../internal/http-device.js';
import type { HttpRequest, HttpResponse } from '../internal/http.js';
import { at, LoginRefused, PayloadProblem, requireNumber } from '../internal/http-shape.js';
import { errorMessage } from '../internal/device-support.js';

const TYPE = 'ibmc-gui';

/** The properties the original asked `getmultiproperty.php` for (power, CPU/memory power, capping). */
export const IBMC_PROPERTY_REQUEST = Object.freeze([
  { class_name: 'MeInfo', obj_name: 'meinfo', property_list: ['CpuCurPower', 'MemCurPower'] },
  {
    class_name: 'SysPower',
    obj_name: 'syspower',
    property_list: ['Power', 'PowerConsumption', 'PeakValue', 'PeakTime', 'RecordBeginTime', 'AveragePower'],
  },
  {
    class_name: 'PowerCapping',
    obj_name: 'powercapping',
    property_list: ['BaseValue', 'TopValue', 'Enable', 'LimitValue', 'FailAction', 'ManualSetEnable'],
  },
]);

/** Decodes a `getmultiproperty.php` answer: `%22` for quotes and sometimes one junk character before `{`. */
export function cleanIbmcResponse(text: string): unknown {
  let cleaned = text.replace(/%22/g, '"').trim();
  if (cleaned !== '' && !cleaned.startsWith('{')) cleaned = cleaned.slice(1);
  try {
    return JSON.parse(cleaned) as unknown;
  } catch (err) {
    throw new PayloadProblem(`getmultiproperty answer is not JSON (${errorMessage(err)})`);
  }
}

/** `SysPower[0].Power` (W). */
export function parseIbmcPower(body: unknown): number {
  return requireNumber(at(body, 'SysPower', 0, 'Power'), 'SysPower[0].Power');
}

/** An `ibmc-gui` device entry: `host`, `id`, `user`, `pass` as the original. */
export const ibmcGuiConfigSchema = z.looseObject({ ...httpDeviceShape });
/** A validated `ibmc-gui` device entry. */
export type IbmcGuiConfig = z.output<typeof ibmcGuiConfigSchema>;

/** `ibmc-gui`: Huawei iBMC web UI (`processparameter.php`, `gettoken.php`, `getmultiproperty.php`). */
export const ibmcGuiAdapter: AdapterDefinition<typeof ibmcGuiConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'Huawei iBMC web UI: AddSession, gettoken, getmultiproperty, DelSession',
  configSchema: ibmcGuiConfigSchema,
  create(config: IbmcGuiConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'https', sendCredentials: false });
    const path = (p: string): string => `${address.basePath}${p}`;
    return httpPowerAdapter(client, async (signal, timestampNs) => {
      let token: string | undefined;
      const login = {
        request: {
          method: 'POST' as const,
          path: path('/bmc/php/processparameter.php'),
          form: { check_pwd: config.pass ?? '', logtype: '0', user_name: config.user ?? '', func: 'AddSession', IsKvmApp: '0' },
        },
        session: (res: HttpResponse): string => {
          const session = [...parseSetCookies(res.setCookies)].find(([name]) => name.includes('SessionId'));
          if (session === undefined) throw new LoginRefused('AddSession refused: no SessionId cookie');
          return `${session[0]}=${session[1]}`;
        },
        // DelSession carries the token when there is one; without it the iBMC still drops the session by cookie.
        logout: (cookie: string): HttpRequest => ({
          method: 'POST',
          path: path('/bmc/php/processparameter.php'),
          headers: { cookie },
          form: { token: token ?? '', func: 'DelSession' },
        }),
      };
      return withWebSession(client, ctx.logger, signal, login, async (cookie) => {
        token = (await client.request({ method: 'POST', path: path('/bmc/php/gettoken.php'), headers: { cookie }, signal })).text.trim();
        if (token === '') throw new PayloadProblem('gettoken.php returned an empty token');
        const data = await client.request({
          method: 'POST',
          path: path('/bmc/php/getmultiproperty.php'),
          headers: { cookie: `${cookie}; PowerUnits=1`, 'user-agent': 'Mozilla Chrome' },
          form: { token, str_input: JSON.stringify(IBMC_PROPERTY_REQUEST) },
          signal,
        });
        return powerReading(parseIbmcPower(cleanIbmcResponse(data.text)), timestampNs, 'SysPower');
      });
    });
  },
});
