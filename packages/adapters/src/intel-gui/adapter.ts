import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter, powerReading, withLogout } from '../internal/http-device.js';
import { at, LoginRefused, PayloadProblem, requireNumber, str } from '../internal/http-shape.js';
import { errorMessage } from '../internal/device-support.js';

const TYPE = 'intel-gui';

/**
 * Turns the pseudo-JSON of Intel (AMI MegaRAC) web consoles into JSON: `//Dynamic Data` comments, the
 * `WEBVAR_JSONVAR_<NAME> =` assignment, `;`, single quotes, bare keys and trailing commas.
 */
export function cleanIntelPseudoJson(text: string): unknown {
  const cleaned = text
    .replace(/\/\/\s*Dynamic Data Begin/gi, '')
    .replace(/\/\/\s*Dynamic data end/gi, '')
    .replace(/WEBVAR_JSONVAR_[A-Za-z0-9_]+\s*=/g, '')
    .replace(/;/g, '')
    .replace(/'/g, '"')
    .replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:/g, '$1"$2":')
    .replace(/,\s*([\]}])/g, '$1')
    .trim();
  try {
    return JSON.parse(cleaned) as unknown;
  } catch (err) {
    throw new PayloadProblem(`unreadable answer after pseudo-JSON cleanup (${errorMessage(err)})`);
  }
}

/** `WEBVAR_STRUCTNAME_WEB_SESSION[0].SESSION_COOKIE` of a login answer. */
export function parseIntelSessionCookie(body: unknown): string {
  const cookie = str(at(body, 'WEBVAR_STRUCTNAME_WEB_SESSION', 0, 'SESSION_COOKIE'));
  if (cookie === undefined || cookie === '' || /failure/i.test(cookie)) {
    throw new LoginRefused(`login refused: SESSION_COOKIE is ${cookie === undefined ? 'absent' : JSON.stringify(cookie)}`);
  }
  return cookie;
}

/** `WEBVAR_STRUCTNAME_GETNMSTATISTICS[0].LSB_CURR` (W) of `getpowerstat.asp`. */
export function parseIntelPower(body: unknown): number {
  return requireNumber(at(body, 'WEBVAR_STRUCTNAME_GETNMSTATISTICS', 0, 'LSB_CURR'), 'GETNMSTATISTICS[0].LSB_CURR');
}

/** An `intel-gui` device entry: `host`, `id`, `user`, `pass` as the original. */
export const intelGuiConfigSchema = z.looseObject({ ...httpDeviceShape });
/** A validated `intel-gui` device entry. */
export type IntelGuiConfig = z.output<typeof intelGuiConfigSchema>;

/** `intel-gui`: Intel server web console (`/rpc/WEBSES/create.asp`, `/rpc/getpowerstat.asp`). */
export const intelGuiAdapter: AdapterDefinition<typeof intelGuiConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'Intel server web console: WEBSES/create.asp, getpowerstat.asp, logout.asp',
  configSchema: intelGuiConfigSchema,
  create(config: IntelGuiConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'https', sendCredentials: false });
    const path = (p: string): string => `${address.basePath}${p}`;
    return httpPowerAdapter(client, async (signal, timestampNs) => {
      const login = await client.request({
        method: 'POST',
        path: path('/rpc/WEBSES/create.asp'),
        form: { WEBVAR_USERNAME: config.user ?? '', WEBVAR_PASSWORD: config.pass ?? '' },
        signal,
      });
      const session = parseIntelSessionCookie(cleanIntelPseudoJson(login.text));
      const headers = { cookie: `SessionCookie=${session}` };
      return withLogout(client, ctx.logger, { path: path('/rpc/WEBSES/logout.asp'), headers }, async () => {
        const stat = await client.request({ path: path('/rpc/getpowerstat.asp'), headers, signal });
        return powerReading(parseIntelPower(cleanIntelPseudoJson(stat.text)), timestampNs, 'getpowerstat');
      });
    });
  },
});
