import type { Reading } from '@energyrecorder/core';
import { arrayOf, at, isObject, numberField, prop, PayloadProblem, requireNumber, type JsonObject } from '../internal/http-shape.js';

/**
 * A device entry that cannot work with this device as configured: a `channel` the device does not have, or a device
 * without any power-metering component. Polling again will not help, so the adapter makes it a non-retryable
 * `ER_ADAPTER_CONFIG` error.
 */
export class ShellySetupProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellySetupProblem';
  }
}

/** Receives the message of a skipped reading (an invalid meter or phase). */
export type ShellyWarn = (message: string) => void;

/** Options of the status parsers. */
export interface ShellyParseOptions {
  /** Meter (Gen1) or component (Gen2+) id; default 0. */
  channel?: number;
  /** Called for each reading skipped while others are kept; default: ignored. */
  warn?: ShellyWarn;
}

const PHASES = ['a', 'b', 'c'] as const;

/** Generation from the unauthenticated `/shelly` info: Gen2+ devices carry `gen` ≥ 2, Gen1 has none. */
export function parseShellyGeneration(body: unknown): 1 | 2 {
  if (!isObject(body)) throw new PayloadProblem('/shelly is not a JSON object');
  const gen = numberField(body['gen']);
  return gen.kind === 'number' && gen.value >= 2 ? 2 : 1;
}

/** What the `/shelly` info says the device is (`app` or `model` on Gen2+, `type` on Gen1), for messages. */
export function shellyModel(info: unknown): string | undefined {
  for (const key of ['app', 'model', 'type']) {
    const v = prop(info, key);
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** True when a reading carries power (`power`, or a per-phase `power_a`…). */
const isPower = (r: Reading): boolean => r.sensor === 'power' || r.sensor.startsWith('power_');

/**
 * Ends a parse: a status whose every power reading was flagged invalid is a retryable payload error (a made-up
 * 0 W would pass for a real one); otherwise the skipped ones are only warned about.
 */
function finish(out: Reading[], invalid: string[], warn: ShellyWarn | undefined, skipped: string[] = []): Reading[] {
  if (invalid.length > 0 && !out.some(isPower)) {
    throw new PayloadProblem(`${invalid.join(', ')} flagged invalid by the device: no power reading`);
  }
  for (const message of [...invalid.map((what) => `${what} flagged invalid by the device: its power is skipped`), ...skipped]) warn?.(message);
  return out;
}

/** `body[field][channel]` as an object, or a {@link PayloadProblem} naming it. */
function entry(list: unknown[], field: string, channel: number): JsonObject {
  const m = list[channel];
  if (!isObject(m)) throw new PayloadProblem(`${field}[${channel}] is not an object`);
  return m;
}

/**
 * Gen1 `/status`. Plugs and relays (Plug S, 1PM, 2.5, …) report `meters[]`: `power` (W) of `meters[channel]` plus
 * the device `temperature` (°C; `tmp.tC` on some models). Energy meters report `emeters[]` instead: the Shelly EM's
 * two clamps are independent meters, `emeters[channel]` gives `power` (W) and `energy` (`total`, Wh); the 3EM's three
 * entries are the phases A, B, C of one meter (channel 0), giving `power_a`/`power_b`/`power_c`, their sum as
 * `power` and the summed `total` as `energy`. A meter with `is_valid: false` gives no power reading.
 */
export function parseShellyGen1Status(body: unknown, timestampNs: number, opts: ShellyParseOptions = {}): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('/status is not a JSON object');
  const channel = opts.channel ?? 0;
  const out: Reading[] = [];
  const push = (sensor: string, unit: string, value: number): void => void out.push({ sensor, unit, value, timestampNs, source: 'status' });
  const temp = numberField(body['temperature'] ?? at(body, 'tmp', 'tC'));
  if (temp.kind === 'number') push('temperature', '°C', temp.value);
  const invalid: string[] = [];
  const meters = arrayOf(body['meters']);
  const emeters = arrayOf(body['emeters']);
  const [field, list] = meters.length > 0 ? ['meters', meters] : ['emeters', emeters];
  if (list.length === 0) {
    throw new ShellySetupProblem('unsupported device: /status has neither meters[] nor emeters[] (no power metering)');
  }

  if (field === 'emeters' && list.length === 3) {
    if (channel !== 0) {
      throw new ShellySetupProblem(
        `channel ${channel} does not exist: this Shelly 3EM has one three-phase meter (channel 0) whose phases emeters[0..2] are read as power_a, power_b, power_c`,
      );
    }
    const phases = PHASES.map((phase, i) => {
      const m = entry(list, field, i);
      if (m['is_valid'] === false) {
        invalid.push(`emeters[${i}] (phase ${phase.toUpperCase()})`);
        return undefined;
      }
      return { phase, power: requireNumber(m['power'], `emeters[${i}].power`), total: numberField(m['total']) };
    });
    const skipped: string[] = [];
    const valid = phases.filter((p) => p !== undefined);
    if (valid.length === PHASES.length) {
      push('power', 'W', valid.reduce((sum, p) => sum + p.power, 0));
    } else if (valid.length > 0) {
      skipped.push('power (sum of the phases) skipped: not every phase is valid');
    }
    for (const p of valid) push(`power_${p.phase}`, 'W', p.power);
    if (valid.length === PHASES.length && valid.every((p) => p.total.kind === 'number')) {
      push('energy', 'Wh', valid.reduce((sum, p) => sum + (p.total.kind === 'number' ? p.total.value : 0), 0));
    }
    return finish(out, invalid, opts.warn, skipped);
  }

  if (channel >= list.length) {
    throw new ShellySetupProblem(`channel ${channel} does not exist: this device reports ${list.length} ${field} (channels 0..${list.length - 1})`);
  }
  const m = entry(list, field, channel);
  if (m['is_valid'] === false) {
    invalid.push(`${field}[${channel}]`);
  } else {
    push('power', 'W', requireNumber(m['power'], `${field}[${channel}].power`));
    // `emeters[].total` is in Wh; `meters[].total` is in watt-minutes and not read (the original did not either).
    const total = field === 'emeters' ? numberField(m['total']) : undefined;
    if (total?.kind === 'number') push('energy', 'Wh', total.value);
  }
  return finish(out, invalid, opts.warn);
}

/** The Gen2+ components that meter power, by RPC namespace. */
export type ShellyComponent = 'Switch' | 'PM1' | 'EM1' | 'EM';

/** Component kinds in the order they are preferred, with their key prefix in `Shelly.GetStatus`. */
const COMPONENTS: readonly [ShellyComponent, string][] = [
  ['Switch', 'switch'],
  ['PM1', 'pm1'],
  ['EM1', 'em1'],
  ['EM', 'em'],
];

/**
 * Picks the power-metering component numbered `channel` from a `Shelly.GetStatus` answer (`switch:N` with an
 * `apower`, `pm1:N`, `em1:N`, `em:N`). A `switch` without `apower` (Plus 1, the contactor output of a Pro EM) meters
 * nothing. Throws a {@link ShellySetupProblem} naming `channel` and what was found when nothing fits.
 */
export function pickShellyComponent(status: unknown, channel: number, model?: string): { kind: ShellyComponent; status: JsonObject } {
  if (!isObject(status)) throw new PayloadProblem('Shelly.GetStatus is not a JSON object');
  const metering: string[] = [];
  let found: { kind: ShellyComponent; status: JsonObject } | undefined;
  for (const [kind, prefix] of COMPONENTS) {
    for (const [key, value] of Object.entries(status)) {
      const m = /^([a-z0-9]+):(\d+)$/.exec(key);
      if (m?.[1] !== prefix || !isObject(value) || (kind === 'Switch' && !('apower' in value))) continue;
      metering.push(key);
      if (Number(m[2]) === channel) found ??= { kind, status: value };
    }
  }
  if (found !== undefined) return found;
  const device = model === undefined ? 'this device' : `this ${model}`;
  if (metering.length > 0) {
    throw new ShellySetupProblem(`channel ${channel} does not exist: ${device} meters power with ${metering.join(', ')}`);
  }
  const keys = Object.keys(status).filter((k) => k.includes(':'));
  throw new ShellySetupProblem(
    `unsupported device/component: ${device} has no power-metering component (switch with apower, pm1, em1 or em); ` +
      `its components are ${keys.length > 0 ? keys.join(', ') : 'none'}`,
  );
}

/** Gen2+ `<kind>.GetStatus` (or the same object inside `Shelly.GetStatus`) as readings. */
export function parseShellyGen2Status(kind: ShellyComponent, body: unknown, timestampNs: number, opts: ShellyParseOptions = {}): Reading[] {
  switch (kind) {
    case 'Switch':
      return parseShellyGen2SwitchStatus(body, timestampNs);
    case 'PM1':
      return parseShellyPm1Status(body, timestampNs);
    case 'EM1':
      return parseShellyEm1Status(body, timestampNs);
    case 'EM':
      return parseShellyEmStatus(body, timestampNs, opts);
  }
}

/** Gen2+ `Switch.GetStatus`: `apower` (W), `aenergy.total` (Wh, a counter) and `temperature.tC` (°C). */
export function parseShellyGen2SwitchStatus(body: unknown, timestampNs: number): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('Switch.GetStatus is not a JSON object');
  const power = requireNumber(prop(body, 'apower'), 'apower');
  const out: Reading[] = [];
  const temp = numberField(at(body, 'temperature', 'tC'));
  if (temp.kind === 'number') out.push({ sensor: 'temperature', unit: '°C', value: temp.value, timestampNs, source: 'Switch.GetStatus' });
  out.push({ sensor: 'power', unit: 'W', value: power, timestampNs, source: 'Switch.GetStatus' });
  const energy = numberField(at(body, 'aenergy', 'total'));
  if (energy.kind === 'number') out.push({ sensor: 'energy', unit: 'Wh', value: energy.value, timestampNs, source: 'Switch.GetStatus' });
  return out;
}

/** Gen2+ `PM1.GetStatus` (PM Mini, Plug PM Gen3): `apower` (W) and `aenergy.total` (Wh, a counter). */
export function parseShellyPm1Status(body: unknown, timestampNs: number): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('PM1.GetStatus is not a JSON object');
  const out: Reading[] = [{ sensor: 'power', unit: 'W', value: requireNumber(body['apower'], 'apower'), timestampNs, source: 'PM1.GetStatus' }];
  const energy = numberField(at(body, 'aenergy', 'total'));
  if (energy.kind === 'number') out.push({ sensor: 'energy', unit: 'Wh', value: energy.value, timestampNs, source: 'PM1.GetStatus' });
  return out;
}

/** Errors of an EM/EM1 component or phase that make its active power meaningless. */
const POWER_ERRORS = new Set(['out_of_range:active_power', 'power_meter_failure', 'ct_type_not_set']);
const badPower = (errors: unknown): string[] => arrayOf(errors).filter((e): e is string => typeof e === 'string' && POWER_ERRORS.has(e));

/** Gen2+ `EM1.GetStatus` (Pro EM, EM Gen3, Pro 3EM in the monophase profile): `act_power` (W). */
export function parseShellyEm1Status(body: unknown, timestampNs: number): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('EM1.GetStatus is not a JSON object');
  const errors = badPower(body['errors']);
  if (errors.length > 0) return finish([], [`act_power (errors: ${errors.join(', ')})`], undefined);
  return [{ sensor: 'power', unit: 'W', value: requireNumber(body['act_power'], 'act_power'), timestampNs, source: 'EM1.GetStatus' }];
}

/**
 * Gen2+ `EM.GetStatus` (Pro 3EM, 3EM Gen3 in the triphase profile): `total_act_power` as `power` (W) and
 * `a_act_power`/`b_act_power`/`c_act_power` as `power_a`/`power_b`/`power_c`. A phase whose `<p>_errors` say its
 * active power is out of range is skipped, and so is the total then; component `errors` such as
 * `power_meter_failure` invalidate everything.
 */
export function parseShellyEmStatus(body: unknown, timestampNs: number, opts: ShellyParseOptions = {}): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('EM.GetStatus is not a JSON object');
  const push = (sensor: string, value: number): Reading => ({ sensor, unit: 'W', value, timestampNs, source: 'EM.GetStatus' });
  const errors = badPower(body['errors']);
  if (errors.length > 0) return finish([], [`em (errors: ${errors.join(', ')})`], opts.warn);
  const invalid: string[] = [];
  const phases: Reading[] = [];
  for (const p of PHASES) {
    const phaseErrors = badPower(body[`${p}_errors`]);
    if (phaseErrors.length > 0) invalid.push(`phase ${p.toUpperCase()} (${p}_errors: ${phaseErrors.join(', ')})`);
    else phases.push(push(`power_${p}`, requireNumber(body[`${p}_act_power`], `${p}_act_power`)));
  }
  const out: Reading[] = [];
  const skipped: string[] = [];
  if (invalid.length === 0) out.push(push('power', requireNumber(body['total_act_power'], 'total_act_power')));
  else if (phases.length > 0) skipped.push('power (total_act_power) skipped: not every phase is valid');
  out.push(...phases);
  return finish(out, invalid, opts.warn, skipped);
}
