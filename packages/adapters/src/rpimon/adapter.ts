import { z } from 'zod';
import type { AdapterContext, AdapterDefinition, PowerAdapter, Reading } from '@energyrecorder/core';
import { httpDeviceShape } from '../internal/http-config.js';
import { clientForDevice, httpPowerAdapter } from '../internal/http-device.js';
import { isObject, numberField, PayloadProblem } from '../internal/http-shape.js';

const TYPE = 'rpimon';

/** The keys of RPi-Monitor's `dynamic.json` the original kept, with the units it gave them. */
export const RPIMON_UNITS: Readonly<Record<string, string>> = Object.freeze({
  sdcard_boot_used: 'Mo',
  sdcard_root_used: 'Mo',
  swap_used: 'Mo',
  memory_free: 'Mo',
  memory_available: 'Mo',
  cpu_frequency: 'MHz',
  cpu_voltage: 'V',
  load1: 'U-Ref',
  load5: 'U-Ref',
  load15: 'U-Ref',
  uptime: 's',
  soc_temp: 'deg. C',
});

/** Readings from a `dynamic.json` body: the known keys with a numeric value (numbers or numeric strings). */
export function parseRpiMonitor(body: unknown, timestampNs: number): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('dynamic.json is not a JSON object');
  const out: Reading[] = [];
  for (const [key, unit] of Object.entries(RPIMON_UNITS)) {
    const f = numberField(body[key]);
    if (f.kind === 'number') out.push({ sensor: key, unit, value: f.value, timestampNs, source: 'dynamic.json' });
  }
  if (out.length === 0) throw new PayloadProblem(`dynamic.json has none of ${Object.keys(RPIMON_UNITS).join(', ')}`);
  return out;
}

/** An `rpimon` device entry: `host` as `ip[:port]` (plain http, as the original). */
export const rpimonConfigSchema = z.looseObject({ ...httpDeviceShape });
/** A validated `rpimon` device entry. */
export type RpimonConfig = z.output<typeof rpimonConfigSchema>;

/** `rpimon`: RPi-Monitor `dynamic.json`, with the original's 12-key unit table. */
export const rpimonAdapter: AdapterDefinition<typeof rpimonConfigSchema> = Object.freeze({
  type: TYPE,
  description: 'RPi-Monitor dynamic.json (load, memory, CPU frequency/voltage, SoC temperature)',
  configSchema: rpimonConfigSchema,
  create(config: RpimonConfig, ctx: AdapterContext): PowerAdapter {
    const { client, address } = clientForDevice(TYPE, config, ctx, { defaultScheme: 'http', sendCredentials: false });
    return httpPowerAdapter(client, async (signal, timestampNs) =>
      parseRpiMonitor(await client.json({ path: `${address.basePath}/dynamic.json`, signal }), timestampNs),
    );
  },
});
