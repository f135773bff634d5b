import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter, parseSetCookies, powerReading, withWebSession } from '../internal/http-device.js';
import type { HttpResponse } from '../internal/http.js';
import { LoginRefused, PayloadProblem } from '../internal/http-shape.js';

const TYPE = 'idrac8-gui';
const SESSION_COOKIE = '-http-session-';

function authResultOf(xml: string): string {
  const auth = /<authResult>([^<]*)<\/authResult>/.exec(xml)?.[1];
  return auth === undefined ? '' : ` (authResult ${auth})`;
}

/** The CSRF token (`ST2=...`) from the `forwardUrl` of a `/data/login` XML answer. */
export function parseIdracLogin(xml: string): string {
  const forward = /<forwardUrl>([^<]*)<\/forwardUrl>/.exec(xml)?.[1];
  const token = forward === undefined ? undefined : /ST2=([^&,\s]+)/.exec(forward)?.[1];
  if (token === undefined) {
    const auth = /<authResult>([^<]*)<\/authResult>/.exec(xml)?.[1];
    throw new PayloadProblem(`/data/login gave no ST2 token${auth === undefined ? '' : ` (authResult ${auth})`}`);
  }
  return token;
}

/** Watts from `powergraphdata/lastHourData/powerData/record`: the last record's first comma-separated field. */
export function parseIdracPowerGraph(xml: string): number {
  const hour = /<lastHourData>([\s\S]*?)<\/lastHourData>/.exec(xml)?.[1];
  const powerData = hour === undefined ? undefined : /<powerData>([\s\S]*?)<\/powerData>/.exec(hour)?.[1];
  if (powerData === undefined) throw new PayloadProblem('powergraphdata has no lastHourData/powerData');
  const records = [...powerData.matchAll(/<record>([^<]*)<\/record>/g)].map((m) => m[1] ?? '');
  const last = records[records.length - 1];
  if (last === undefined) throw new PayloadProblem('powergraphdata lastHourData/powerData has no record');
  const field = (last.split(',')[0] ?? '').trim();
  if (!/^-?\d+(\.\d+)?$/.test(field)) throw new PayloadProblem(`powergraphdata record ${JSON.stringify(last)} does not start with a number`);
  return Math.trunc(Number(field));
}

/** An `idrac8-gui` device entry: `host`, `id`, `user`, `pass` as the original. */
export const idrac8GuiConfigSchema = z.looseObject({ ...httpDeviceShape });
/** A validated `idrac8-gui` device entry. */
export type Idrac8GuiConfig = z.output<typeof idrac8GuiConfigSchema>;

/** `idrac8-gui`: Dell iDRAC 8 web UI (`/data/login`, `/data?get=powergraphdata`, `/data/logout`). */
export const idrac8GuiAdapter: AdapterDefinition<typeof idrac8GuiConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'Dell iDRAC 8 web UI: /data/login, powergraphdata, /data/logout',
  configSchema: idrac8GuiConfigSchema,
  create(config: Idrac8GuiConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'https', sendCredentials: false });
    const path = (p: string): string => `${address.basePath}${p}`;
    return httpPowerAdapter(client, async (signal, timestampNs) => {
      const login = {
        // Form values are URL-encoded here; the original pasted them raw, which broke passwords with & or =.
        request: { method: 'POST' as const, path: path('/data/login'), form: { user: config.user ?? '', password: config.pass ?? '' } },
        session: (res: HttpResponse) => {
          const session = parseSetCookies(res.setCookies).get(SESSION_COOKIE);
          if (session === undefined) throw new LoginRefused(`/data/login refused: no ${SESSION_COOKIE} cookie${authResultOf(res.text)}`);
          return { cookie: `${SESSION_COOKIE}=${session}` };
        },
        logout: (headers: { cookie: string }) => ({ method: 'POST' as const, path: path('/data/logout'), headers }),
      };
      return withWebSession(client, ctx.logger, signal, login, async (headers, res) => {
        const token = parseIdracLogin(res.text);
        const data = await client.request({ method: 'POST', path: path('/data?get=powergraphdata'), headers: { ...headers, ST2: token }, signal });
        return powerReading(parseIdracPowerGraph(data.text), timestampNs, 'powergraphdata');
      });
    });
  },
});
