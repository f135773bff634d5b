import type { Reading } from '@energyrecorder/core';
import { at, isObject, numberField, prop, PayloadProblem, requireNumber } from '../internal/http-shape.js';

/** Generation from the unauthenticated `/shelly` info: Gen2+ devices carry `gen` ≥ 2, Gen1 has none. */
export function parseShellyGeneration(body: unknown): 1 | 2 {
  if (!isObject(body)) throw new PayloadProblem('/shelly is not a JSON object');
  const gen = numberField(body['gen']);
  return gen.kind === 'number' && gen.value >= 2 ? 2 : 1;
}

/** Gen1 `/status`: `meters[0].power` (W) and the device `temperature` (°C; `tmp.tC` on some models). */
export function parseShellyGen1Status(body: unknown, timestampNs: number): Reading[] {
  if (!isObject(body)) throw new PayloadProblem('/status is not a JSON object');
  const power = requireNumber(at(body, 'meters', 0, 'power'), 'meters[0].power');
  const out: Reading[] = [];
  const temp = numberField(body['temperature'] ?? at(body, 'tmp', 'tC'));
  if (temp.kind === 'number') out.push({ sensor: 'temperature', unit: '°C', value: temp.value, timestampNs, source: 'status' });
  out.push({ sensor: 'power', unit: 'W', value: power, timestampNs, source: 'status' });
  return out;
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
