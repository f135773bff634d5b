import { arrayOf, at, describe, isObject, numberField, prop, str, type JsonObject } from '../internal/http-shape.js';

/** What a chassis resource links to, with URIs normalised (no trailing slash, no fragment). */
export interface ChassisInfo {
  uri: string;
  /** `Id`, or the last URI segment when the service omits it (yoko2redfish does). */
  id: string;
  environmentMetrics: string | undefined;
  powerSubsystem: string | undefined;
  power: string | undefined;
  sensors: string | undefined;
  thermal: string | undefined;
  thermalSubsystem: string | undefined;
  containedBy: string | undefined;
  contains: string[];
}

/**
 * A power source's answer: a value, nothing (absent or null), or a payload that is not what the schema says.
 * `nullReading` marks a `missing` whose resource does carry the power value but has it null right now (a meter
 * with no value this poll), as opposed to a resource that has no power value at all.
 */
export type SourceOutcome =
  | { kind: 'ok'; watts: number; energyKWh?: number }
  | { kind: 'missing'; reason: string; nullReading?: boolean }
  | { kind: 'invalid'; reason: string };

/** Power sources in the order they are tried, as labelled on readings. */
export const POWER_SOURCES = Object.freeze(['EnvironmentMetrics', 'PowerSubsystem', 'Power', 'Sensors'] as const);
/** One of {@link POWER_SOURCES}. */
export type PowerSource = (typeof POWER_SOURCES)[number];

/** Strips the fragment and trailing slashes so `/Chassis/1/` and `/Chassis/1` compare equal. */
export function normaliseUri(uri: string): string {
  const noFragment = uri.split('#')[0] ?? '';
  const trimmed = noFragment.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function linkOf(resource: unknown, key: string, parentUri: string): string | undefined {
  const value = prop(resource, key);
  if (value === undefined || value === null) return undefined;
  const id = str(prop(value, '@odata.id'));
  // The original USB-meter bridge advertises `Power` without an `@odata.id`; assume the conventional child path.
  return normaliseUri(id ?? `${parentUri}/${key}`);
}

/** Member URIs of one collection page (`Members[].@odata.id`). Returns undefined when `Members` is not an array. */
export function parseCollection(body: unknown): string[] | undefined {
  const members = prop(body, 'Members');
  if (!Array.isArray(members)) return undefined;
  const out: string[] = [];
  for (const m of members as unknown[]) {
    const id = str(prop(m, '@odata.id'));
    if (id !== undefined) out.push(normaliseUri(id));
  }
  return out;
}

/** `Members@odata.nextLink` of a collection page (DSP0266 "Collection resources"): where the next page is. */
export function collectionNextLink(body: unknown): string | undefined {
  const link = str(prop(body, 'Members@odata.nextLink'));
  return link === undefined || link.trim() === '' ? undefined : link;
}

/** `Members@odata.count` of a collection: how many members all its pages hold, when the service says. */
export function collectionCount(body: unknown): number | undefined {
  const f = numberField(prop(body, 'Members@odata.count'));
  return f.kind === 'number' && Number.isInteger(f.value) && f.value >= 0 ? f.value : undefined;
}

/** Reads the links of one chassis. `uri` is where it was fetched from, used when the body lacks `@odata.id`. */
export function parseChassis(body: unknown, uri: string): ChassisInfo {
  const self = normaliseUri(str(prop(body, '@odata.id')) ?? uri);
  const lastSegment = self.split('/').filter((s) => s !== '').pop() ?? self;
  const id = str(prop(body, 'Id')) ?? lastSegment;
  const links = prop(body, 'Links');
  const containedById = str(prop(prop(links, 'ContainedBy'), '@odata.id'));
  const contains = arrayOf(prop(links, 'Contains'))
    .map((l) => str(prop(l, '@odata.id')))
    .filter((l): l is string => l !== undefined)
    .map(normaliseUri);
  return {
    uri: self,
    id,
    environmentMetrics: linkOf(body, 'EnvironmentMetrics', self),
    powerSubsystem: linkOf(body, 'PowerSubsystem', self),
    power: linkOf(body, 'Power', self),
    sensors: linkOf(body, 'Sensors', self),
    thermal: linkOf(body, 'Thermal', self),
    thermalSubsystem: linkOf(body, 'ThermalSubsystem', self),
    containedBy: containedById === undefined ? undefined : normaliseUri(containedById),
    contains,
  };
}

/** `EnvironmentMetrics.PowerWatts.Reading` (W) and `EnergykWh.Reading` (kWh, a counter). */
export function parseEnvironmentMetrics(body: unknown): SourceOutcome {
  if (!isObject(body)) return { kind: 'invalid', reason: 'EnvironmentMetrics is not an object' };
  const watts = numberField(at(body, 'PowerWatts', 'Reading'));
  if (watts.kind === 'missing') {
    // Only an explicit `Reading: null` is a meter without a value now; a PowerWatts without Reading (only a
    // DataSourceUri, say) is no power value at all.
    const metered = at(body, 'PowerWatts', 'Reading') === null;
    return { kind: 'missing', reason: 'EnvironmentMetrics.PowerWatts.Reading is absent or null', ...(metered ? { nullReading: true } : {}) };
  }
  if (watts.kind === 'invalid') {
    return { kind: 'invalid', reason: `EnvironmentMetrics.PowerWatts.Reading is ${describe(watts.raw)}, not a number` };
  }
  const energy = numberField(at(body, 'EnergykWh', 'Reading'));
  return energy.kind === 'number'
    ? { kind: 'ok', watts: watts.value, energyKWh: energy.value }
    : { kind: 'ok', watts: watts.value };
}

// Contexts naming a part of the machine: their PowerControl entries are already inside the chassis total.
const COMPONENT_CONTEXTS = new Set([
  'CPU',
  'CPUSubsystem',
  'Memory',
  'MemorySubsystem',
  'GPU',
  'GPUSubsystem',
  'StorageDevice',
  'StorageSubsystem',
  'NetworkingDevice',
  'Fan',
  'Accelerator',
  'ASIC',
  'FPGA',
  'Backplane',
  'Board',
]);

// Lenovo XCC lists "CPU Sub-system Power" and "Memory Sub-system Power" next to "Server Power Control" (seen on an
// HX3720 node: 263 W, 155 W and 49 W); the name is what says they are parts of the server, not extra loads. Kept
// narrow on purpose: "Storage Enclosure 1 HSC Power" is the whole power of a storage-enclosure chassis.
const COMPONENT_NAME = /\b(cpu|processor|memory|dimm)\b|\bsub-?system\b/i;

function isComponentEntry(entry: unknown): boolean {
  const ctx = str(prop(entry, 'PhysicalContext'));
  if (ctx !== undefined && COMPONENT_CONTEXTS.has(ctx)) return true;
  return COMPONENT_NAME.test(str(prop(entry, 'Name')) ?? '');
}

/**
 * Whole-chassis power that some firmware carries outside `PowerControl[]`, tried only when `PowerControl` has no
 * value: the `PowerConsumedWatts` beside `PowerControl` that HP's pre-`PowerControl` Power schema had (iLO 4 still
 * serves it at the top level), Inspur's `Oem.Public.TotalPower` (its `PowerControl` is empty on some AMD models) and
 * Fujitsu iRMC's `Oem.ts_fujitsu.ChassisPowerConsumption.CurrentPowerConsumptionW` ("Total Power").
 */
const POWER_OUTSIDE_CONTROL: readonly (readonly string[])[] = [
  ['PowerConsumedWatts'],
  ['Oem', 'Public', 'TotalPower'],
  ['Oem', 'ts_fujitsu', 'ChassisPowerConsumption', 'CurrentPowerConsumptionW'],
];

function powerOutsideControl(body: unknown): SourceOutcome | undefined {
  for (const path of POWER_OUTSIDE_CONTROL) {
    const f = numberField(at(body, ...path));
    if (f.kind === 'number') return { kind: 'ok', watts: f.value };
    if (f.kind === 'invalid') return { kind: 'invalid', reason: `Power.${path.join('.')} is ${describe(f.raw)}, not a number` };
  }
  return undefined;
}

/**
 * Legacy `Power.PowerControl[].PowerConsumedWatts`. An entry whose `PhysicalContext` is `Chassis` is the whole
 * chassis and wins; otherwise the entries that are not sub-components (CPU, memory, ... by context or by name) are
 * summed, as the original did before it broke this path with `.isdigit()` on numbers. When `PowerControl` gives
 * no value, the vendor places listed in {@link POWER_OUTSIDE_CONTROL} are tried.
 */
export function parsePowerControl(body: unknown): SourceOutcome {
  if (!isObject(body)) return { kind: 'invalid', reason: 'Power is not an object' };
  const fromControl = parsePowerControlEntries(body);
  if (fromControl.kind !== 'missing') return fromControl;
  return powerOutsideControl(body) ?? fromControl;
}

function parsePowerControlEntries(body: JsonObject): SourceOutcome {
  const entries = arrayOf(prop(body, 'PowerControl')).filter(isObject);
  if (entries.length === 0) return { kind: 'missing', reason: 'Power.PowerControl is absent or empty' };
  const chassisWide = entries.filter((e) => prop(e, 'PhysicalContext') === 'Chassis');
  for (const e of chassisWide) {
    const f = numberField(prop(e, 'PowerConsumedWatts'));
    if (f.kind === 'number') return { kind: 'ok', watts: f.value };
    if (f.kind === 'invalid') {
      return { kind: 'invalid', reason: `Power.PowerControl[Chassis].PowerConsumedWatts is ${describe(f.raw)}, not a number` };
    }
  }
  const candidates = entries.filter((e) => !isComponentEntry(e));
  let sum = 0;
  let seen = 0;
  for (const e of candidates) {
    const f = numberField(prop(e, 'PowerConsumedWatts'));
    if (f.kind === 'invalid') {
      return { kind: 'invalid', reason: `Power.PowerControl[].PowerConsumedWatts is ${describe(f.raw)}, not a number` };
    }
    if (f.kind === 'number') {
      sum += f.value;
      seen += 1;
    }
  }
  if (seen === 0) {
    // A meter without a value now only when a whole-chassis entry has `PowerConsumedWatts: null`; component
    // entries only, or entries without the key (limits only), are no chassis power value at all.
    const metered = candidates.some((e) => prop(e, 'PowerConsumedWatts') === null);
    return metered
      ? { kind: 'missing', reason: 'every Power.PowerControl[].PowerConsumedWatts is null', nullReading: true }
      : { kind: 'missing', reason: 'Power.PowerControl has no whole-chassis PowerConsumedWatts' };
  }
  return { kind: 'ok', watts: sum };
}

/** Whether a power supply is installed and on (`Status.State` absent counts as yes). */
export function isPowerSupplyActive(body: unknown): boolean {
  const state = str(at(body, 'Status', 'State'));
  return state === undefined || state === 'Enabled' || state === 'StandbyOffline' || state === 'Deferring';
}

/** Link to a power supply's `Metrics` resource. */
export function powerSupplyMetricsLink(body: unknown, supplyUri: string): string | undefined {
  return linkOf(body, 'Metrics', normaliseUri(supplyUri));
}

/** Sums `InputPowerWatts.Reading` of every active supply's metrics; a null in any makes the sum unknown. */
export function sumPowerSupplyMetrics(metrics: readonly unknown[]): SourceOutcome {
  if (metrics.length === 0) return { kind: 'missing', reason: 'PowerSubsystem has no active power supply' };
  let sum = 0;
  for (const m of metrics) {
    const f = numberField(at(m, 'InputPowerWatts', 'Reading'));
    if (f.kind === 'invalid') {
      return { kind: 'invalid', reason: `PowerSupplyMetrics.InputPowerWatts.Reading is ${describe(f.raw)}, not a number` };
    }
    // A partial sum would be a bogus number: fall back to the next source instead.
    if (f.kind === 'missing') return { kind: 'missing', reason: 'a PowerSupplyMetrics.InputPowerWatts.Reading is null', nullReading: true };
    sum += f.value;
  }
  return { kind: 'ok', watts: sum };
}

// `ReadingUnits` (UCUM) of a power sensor. The Sensor schema fixes `W` for `ReadingType: Power`, but a reading in
// another unit must not be taken for watts: kW and mW are converted, anything else is refused.
const WATT_SCALE: ReadonlyMap<string, number> = new Map([
  ['W', 1],
  ['kW', 1000],
  ['mW', 0.001],
]);

/**
 * Picks whole-chassis power from `Sensors` members with `ReadingType` Power: a `Chassis`-context sensor, else the
 * sum of power-supply input sensors, else the only power sensor there is.
 */
export function pickPowerSensors(sensors: readonly unknown[]): SourceOutcome {
  const power = sensors.filter((s) => prop(s, 'ReadingType') === 'Power');
  if (power.length === 0) return { kind: 'missing', reason: 'no Sensors member has ReadingType Power' };
  const read = (group: readonly unknown[]): SourceOutcome => {
    let sum = 0;
    for (const s of group) {
      const f = numberField(prop(s, 'Reading'));
      if (f.kind === 'invalid') return { kind: 'invalid', reason: `Sensor ${describe(prop(s, 'Id'))} Reading is ${describe(f.raw)}` };
      const units = prop(s, 'ReadingUnits');
      const scale = units === undefined || units === null ? 1 : typeof units === 'string' ? WATT_SCALE.get(units) : undefined;
      if (scale === undefined) {
        return { kind: 'invalid', reason: `Sensor ${describe(prop(s, 'Id'))} ReadingUnits is ${describe(units)}, not a power unit` };
      }
      if (f.kind === 'missing') {
        // An explicit null is a live sensor without a value now; a sensor without the property is no meter.
        return prop(s, 'Reading') === null
          ? { kind: 'missing', reason: `Sensor ${describe(prop(s, 'Id'))} Reading is null`, nullReading: true }
          : { kind: 'missing', reason: `Sensor ${describe(prop(s, 'Id'))} has no Reading` };
      }
      sum += f.value * scale;
    }
    return { kind: 'ok', watts: sum };
  };
  const chassis = power.filter((s) => prop(s, 'PhysicalContext') === 'Chassis');
  if (chassis.length > 0) return read(chassis.slice(0, 1));
  // `PhysicalSubContext: Input` (Sensor v1_4) says it where the name does not (`PS1Power`).
  const psuInput = power.filter(
    (s) =>
      prop(s, 'PhysicalContext') === 'PowerSupply' &&
      (prop(s, 'PhysicalSubContext') === 'Input' ||
        (prop(s, 'PhysicalSubContext') !== 'Output' && /input/i.test(`${str(prop(s, 'Id')) ?? ''} ${str(prop(s, 'Name')) ?? ''}`))),
  );
  if (psuInput.length > 0) return read(psuInput);
  if (power.length === 1) return read(power);
  return { kind: 'missing', reason: 'Sensors has several power sensors but none for the whole chassis' };
}

/** A temperature found in `Thermal` or `ThermalSubsystem`. */
export interface TemperatureValue {
  name: string;
  celsius: number;
}

/** `Thermal.Temperatures[]` entries that are enabled (or have no status) and carry a number. */
export function parseThermal(body: unknown): TemperatureValue[] {
  const out: TemperatureValue[] = [];
  for (const t of arrayOf(prop(body, 'Temperatures'))) {
    const state = str(at(t, 'Status', 'State'));
    if (state !== undefined && state !== 'Enabled') continue;
    const name = str(prop(t, 'Name')) ?? str(prop(t, 'MemberId'));
    const f = numberField(prop(t, 'ReadingCelsius'));
    if (name !== undefined && f.kind === 'number') out.push({ name, celsius: f.value });
  }
  return out;
}

/** `ThermalMetrics.TemperatureReadingsCelsius[]`, named by `DeviceName` or the sensor URI's last segment. */
export function parseThermalMetrics(body: unknown): TemperatureValue[] {
  const out: TemperatureValue[] = [];
  for (const t of arrayOf(prop(body, 'TemperatureReadingsCelsius'))) {
    const uri = str(prop(t, 'DataSourceUri'));
    const name = str(prop(t, 'DeviceName')) ?? (uri === undefined ? undefined : normaliseUri(uri).split('/').pop());
    const f = numberField(prop(t, 'Reading'));
    if (name !== undefined && name !== '' && f.kind === 'number') out.push({ name, celsius: f.value });
  }
  return out;
}

/** Link from `ThermalSubsystem` to its `ThermalMetrics`. */
export function thermalMetricsLink(body: unknown, thermalSubsystemUri: string): string | undefined {
  return linkOf(body, 'ThermalMetrics', thermalSubsystemUri);
}

/** Link from `PowerSubsystem` to its `PowerSupplies` collection. */
export function powerSuppliesLink(body: unknown, powerSubsystemUri: string): string | undefined {
  return linkOf(body, 'PowerSupplies', powerSubsystemUri);
}

/** Chassis URIs that are not inside another chassis of the same service (by `ContainedBy` or `Contains`). */
export function topLevelChassis(chassis: readonly ChassisInfo[]): ChassisInfo[] {
  const known = new Set(chassis.map((c) => c.uri));
  const contained = new Set<string>();
  for (const c of chassis) {
    if (c.containedBy !== undefined && known.has(c.containedBy) && c.containedBy !== c.uri) contained.add(c.uri);
    for (const child of c.contains) if (child !== c.uri) contained.add(child);
  }
  // A containment cycle would leave nothing on top; treat every chassis of such a service as top-level.
  const tops = chassis.filter((c) => !contained.has(c.uri));
  return tops.length === 0 ? [...chassis] : tops;
}

/** Direct children of `parent` among `chassis`. */
export function childrenOf(parent: ChassisInfo, chassis: readonly ChassisInfo[]): ChassisInfo[] {
  const byUri = new Set(parent.contains);
  return chassis.filter((c) => c.uri !== parent.uri && (byUri.has(c.uri) || c.containedBy === parent.uri));
}
