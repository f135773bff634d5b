import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter, powerReading, withWebSession } from '../internal/http-device.js';
import type { HttpResponse } from '../internal/http.js';
import { at, PayloadProblem, requireNumber, str } from '../internal/http-shape.js';

const TYPE = 'ilo-gui';

/** `session_key` of a `/json/login_session` login answer. */
export function parseIloGuiSessionKey(body: unknown): string {
  const key = str(at(body, 'session_key'));
  if (key === undefined || key === '') throw new PayloadProblem('login_session answer has no session_key');
  return key;
}

/** `samples[0].avg` of `/json/power_history_fast` (W). */
export function parseIloGuiPower(body: unknown): number {
  return requireNumber(at(body, 'samples', 0, 'avg'), 'power_history_fast samples[0].avg');
}

/** An `ilo-gui` device entry: `host`, `id`, `user`, `pass` as the original. */
export const iloGuiConfigSchema = z.looseObject({ ...httpDeviceShape });
/** A validated `ilo-gui` device entry. */
export type IloGuiConfig = z.output<typeof iloGuiConfigSchema>;

/** `ilo-gui`: HP Gen8 iLO web UI (`/json/login_session`, `/json/power_history_fast`). */
export const iloGuiAdapter: AdapterDefinition<typeof iloGuiConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'HP iLO (Gen8) web UI: login_session, power_history_fast, logout',
  configSchema: iloGuiConfigSchema,
  create(config: IloGuiConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'https' });
    const path = (p: string): string => `${address.basePath}${p}`;
    return httpPowerAdapter(client, async (signal, timestampNs) => {
      // The original sent a cookie named `sessionKey:` (colon included); iLO reads `sessionKey`.
      const cookieOf = (key: string) => ({ cookie: `sessionKey=${key}` });
      const login = {
        request: {
          method: 'POST' as const,
          path: path('/json/login_session'),
          body: { method: 'login', user_login: config.user ?? '', password: config.pass ?? '' },
        },
        session: (res: HttpResponse) => parseIloGuiSessionKey(client.parseJson(res)),
        logout: (key: string) => ({
          method: 'POST' as const,
          path: path('/json/login_session'),
          body: { method: 'logout', session_key: key },
          headers: cookieOf(key),
        }),
      };
      return withWebSession(client, ctx.logger, signal, login, async (key) => {
        const data = await client.json({ path: path('/json/power_history_fast'), headers: cookieOf(key), signal });
        return powerReading(parseIloGuiPower(data), timestampNs, 'power_history_fast');
      });
    });
  },
});
