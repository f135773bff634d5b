/** Yoctopuce JSON numbers are 16.16 fixed point: the real value times 65536. */
export function fromFixed1616(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v / 65536 : undefined;
}

/** What a Yocto-Watt `power` function says. */
export interface YoctoPower {
  powerWatts: number;
  /** `meter`: energy since the device started, in Wh. */
  energyWh: number | undefined;
}

/** Parses `/api/power.json`; `currentValue` wins over the rounded `advertisedValue` string. */
export function parsePowerJson(body: unknown): YoctoPower | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  let unitFactor = 1;
  if (o['unit'] === 'mW') unitFactor = 0.001;
  else if (o['unit'] === 'kW') unitFactor = 1000;
  const fromAdvertised = typeof o['advertisedValue'] === 'string' ? Number(o['advertisedValue']) : Number.NaN;
  const w = fromFixed1616(o['currentValue']) ?? (Number.isFinite(fromAdvertised) ? fromAdvertised : undefined);
  if (w === undefined) return undefined;
  return { powerWatts: w * unitFactor, energyWh: fromFixed1616(o['meter']) };
}

/** Parses `voltage1.json` / `current1.json` into volts or amperes (the current unit is usually mA). */
export function parseMeasureJson(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const o = body as Record<string, unknown>;
  const v = fromFixed1616(o['currentValue']);
  if (v === undefined) return undefined;
  return o['unit'] === 'mA' || o['unit'] === 'mV' ? v / 1000 : v;
}
