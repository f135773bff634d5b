import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter, powerReading, withWebSession } from '../internal/http-device.js';
import type { HttpResponse } from '../internal/http.js';
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

/**
 * Watts of `getpowerstat.asp`: `LSB_CURR + 256 * MSB_CURR` of `WEBVAR_STRUCTNAME_GETNMSTATISTICS[0]`. The page
 * hands out the two bytes of Node Manager's 16-bit "current" statistic; the original read `LSB_CURR` alone, so a
 * server drawing 300 W (LSB 44, MSB 1) read 44 W and one at 256 W read 0 (no reading).
 */
export function parseIntelPower(body: unknown): number {
  const stat = at(body, 'WEBVAR_STRUCTNAME_GETNMSTATISTICS', 0);
  const byte = (key: 'LSB_CURR' | 'MSB_CURR'): number => {
    const v = requireNumber(at(stat, key), `GETNMSTATISTICS[0].${key}`);
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new PayloadProblem(`GETNMSTATISTICS[0].${key} is ${v}, not a byte (0-255)`);
    return v;
  };
  const lsb = byte('LSB_CURR');
  return lsb + 256 * byte('MSB_CURR');
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
      const login = {
        request: {
          method: 'POST' as const,
          path: path('/rpc/WEBSES/create.asp'),
          form: { WEBVAR_USERNAME: config.user ?? '', WEBVAR_PASSWORD: config.pass ?? '' },
        },
        session: (res: HttpResponse) => ({ cookie: `SessionCookie=${parseIntelSessionCookie(cleanIntelPseudoJson(res.text))}` }),
        logout: (headers: { cookie: string }) => ({ path: path('/rpc/WEBSES/logout.asp'), headers }),
      };
      return withWebSession(client, ctx.logger, signal, login, async (headers) => {
        const stat = await client.request({ path: path('/rpc/getpowerstat.asp'), headers, signal });
        return powerReading(parseIntelPower(cleanIntelPseudoJson(stat.text)), timestampNs, 'getpowerstat');
      });
    });
  },
});
