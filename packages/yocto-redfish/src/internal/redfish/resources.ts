import type { ChannelSnapshot } from '../../meter-channel.js';
import type { MeterHealth, MeterState } from '../../meter.js';
import { windowMetrics } from '../window-stats.js';

/** JSON object as served. */
export type Json = Record<string, unknown>;

/** The aggregated view of one chassis: one meter, or the sum of all of them. */
export interface ChassisView {
  id: string;
  name: string;
  model: string;
  manufacturer: string;
  serialNumber: string | undefined;
  powerWatts: number | null;
  voltageVolts: number | null;
  currentAmps: number | null;
  energyKWh: number | null;
  state: MeterState;
  health: MeterHealth;
  metrics: { intervalMin: number; minWatts: number; maxWatts: number; averageWatts: number } | null;
  /** Whether voltage/current sensors make sense (not for a summed chassis). */
  electrical: boolean;
}

export const ROOT = '/redfish/v1';
/** Where DMTF publishes its schemas, CSDL (`Chassis_v1.xml`) and JSON Schema (`Chassis.v1_21_0.json`) alike. */
export const DMTF_SCHEMAS = 'http://redfish.dmtf.org/schemas/v1';
const chassisUri = (id: string): string => `${ROOT}/Chassis/${encodeURIComponent(id)}`;

/**
 * Min/avg/max of a summed chassis, over the sums themselves: the sum of each meter's min and max is not the min
 * and max of the sum (two meters in anti-phase always summing 400 W would show 200..600 W). A sum is recorded
 * each time the set of readings it is made of changes, and dropped once older than the window.
 */
export class SumWindow {
  private samples: Array<{ tMs: number; w: number }> = [];
  private last: ReadonlyArray<unknown> = [];

  constructor(private readonly intervalMin: number) {}

  /** Records the sum of `snaps` at `tMs`, when every meter has a reading and one of them is new. */
  record(tMs: number, snaps: readonly ChannelSnapshot[]): void {
    const readings = snaps.map((s) => s.reading);
    if (readings.length === 0 || readings.some((r) => r === null)) return;
    if (readings.length === this.last.length && readings.every((r, i) => r === this.last[i])) return;
    this.last = readings;
    let total = 0;
    for (const r of readings) total += r?.powerWatts ?? 0;
    this.samples.push({ tMs, w: total });
    this.prune(tMs);
  }

  /** Min/avg/max over the window, or null when no sum was recorded within it. */
  metrics(nowMs: number): ChassisView['metrics'] {
    this.prune(nowMs);
    return windowMetrics(this.samples, this.intervalMin);
  }

  private prune(nowMs: number): void {
    const horizon = nowMs - this.intervalMin * 60_000;
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop] as { tMs: number }).tMs < horizon) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }
}

/**
 * Folds one or more meter snapshots into a chassis view. A sum is only as available as its worst meter. A summed
 * chassis takes its min/avg/max from `sumMetrics` (see {@link SumWindow}); a single meter's come from its channel.
 */
export function viewOf(
  id: string,
  name: string,
  snaps: readonly ChannelSnapshot[],
  sumMetrics?: ChassisView['metrics'],
): ChassisView {
  const single = snaps.length === 1 ? snaps[0] : undefined;
  const anyDown = snaps.some((s) => s.reading === null);
  const sum = (pick: (s: ChannelSnapshot) => number | null): number | null => {
    if (anyDown || snaps.length === 0) return null;
    let total = 0;
    for (const s of snaps) {
      const v = pick(s);
      if (v === null) return null;
      total += v;
    }
    return total;
  };
  const state: MeterState = snaps.some((s) => s.status.state === 'UnavailableOffline')
    ? 'UnavailableOffline'
    : snaps.some((s) => s.status.state === 'Starting')
      ? 'Starting'
      : 'Enabled';
  const health: MeterHealth = snaps.some((s) => s.status.health === 'Critical')
    ? 'Critical'
    : snaps.some((s) => s.status.health === 'Warning')
      ? 'Warning'
      : 'OK';
  const metrics = single !== undefined ? single.metrics : (sumMetrics ?? null);
  return {
    id,
    name,
    model: single?.identity?.model ?? (snaps.length > 1 ? `Sum of ${snaps.length} meters` : 'Watt meter'),
    manufacturer: single?.identity?.manufacturer ?? 'EnergyRecorder',
    serialNumber: single?.identity?.serialNumber,
    powerWatts: sum((s) => s.reading?.powerWatts ?? null),
    voltageVolts: single?.reading?.voltageVolts ?? null,
    currentAmps: single?.reading?.currentAmps ?? null,
    energyKWh: sum((s) => (s.energyWh === null ? null : s.energyWh / 1000)),
    state,
    health,
    metrics,
    electrical: single !== undefined,
  };
}

const status = (v: ChassisView): Json => ({ State: v.state, Health: v.health });

/** `/redfish` */
export function versions(): Json {
  return { v1: `${ROOT}/` };
}

/** `/redfish/v1/` (ServiceRoot). */
export function serviceRoot(uuid: string, product: string): Json {
  return {
    '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot',
    '@odata.id': `${ROOT}/`,
    Id: 'RootService',
    Name: 'Root Service',
    RedfishVersion: '1.17.0',
    UUID: uuid,
    Product: product,
    Chassis: { '@odata.id': `${ROOT}/Chassis` },
    SessionService: { '@odata.id': `${ROOT}/SessionService` },
    Links: { Sessions: { '@odata.id': `${ROOT}/SessionService/Sessions` } },
  };
}

/** `/redfish/v1/Chassis` */
export function chassisCollection(ids: readonly string[]): Json {
  return {
    '@odata.type': '#ChassisCollection.ChassisCollection',
    '@odata.id': `${ROOT}/Chassis`,
    Name: 'Chassis Collection',
    'Members@odata.count': ids.length,
    Members: ids.map((id) => ({ '@odata.id': chassisUri(id) })),
  };
}

/** `/redfish/v1/Chassis/{id}` */
export function chassis(v: ChassisView): Json {
  const uri = chassisUri(v.id);
  const out: Json = {
    '@odata.type': '#Chassis.v1_21_0.Chassis',
    '@odata.id': uri,
    Id: v.id,
    Name: v.name,
    ChassisType: 'Other',
    Manufacturer: v.manufacturer,
    Model: v.model,
    PowerState: 'On',
    Status: status(v),
    Power: { '@odata.id': `${uri}/Power` },
    EnvironmentMetrics: { '@odata.id': `${uri}/EnvironmentMetrics` },
    Sensors: { '@odata.id': `${uri}/Sensors` },
    Links: {},
  };
  if (v.serialNumber !== undefined) out['SerialNumber'] = v.serialNumber;
  return out;
}

/** `/redfish/v1/Chassis/{id}/Power` (legacy Power schema, read by older collectors). */
export function power(v: ChassisView): Json {
  const uri = `${chassisUri(v.id)}/Power`;
  const control: Json = {
    '@odata.id': `${uri}#/PowerControl/0`,
    MemberId: '0',
    Name: `${v.name} power`,
    PhysicalContext: 'Chassis',
    PowerConsumedWatts: v.powerWatts,
    Status: status(v),
  };
  if (v.metrics !== null) {
    control['PowerMetrics'] = {
      IntervalInMin: v.metrics.intervalMin,
      MinConsumedWatts: v.metrics.minWatts,
      MaxConsumedWatts: v.metrics.maxWatts,
      AverageConsumedWatts: v.metrics.averageWatts,
    };
  }
  return {
    '@odata.type': '#Power.v1_7_1.Power',
    '@odata.id': uri,
    Id: 'Power',
    Name: 'Power',
    'PowerControl@odata.count': 1,
    PowerControl: [control],
  };
}

interface SensorDef {
  id: string;
  name: string;
  readingType: string;
  units: string;
  value: (v: ChassisView) => number | null;
}

const SENSORS: readonly SensorDef[] = [
  { id: 'Power', name: 'Active power', readingType: 'Power', units: 'W', value: (v) => v.powerWatts },
  { id: 'Energy', name: 'Energy', readingType: 'EnergykWh', units: 'kW.h', value: (v) => v.energyKWh },
  { id: 'Voltage', name: 'Voltage', readingType: 'Voltage', units: 'V', value: (v) => v.voltageVolts },
  { id: 'Current', name: 'Current', readingType: 'Current', units: 'A', value: (v) => v.currentAmps },
];

function sensorsOf(v: ChassisView): readonly SensorDef[] {
  return SENSORS.filter((s) => v.electrical || s.id === 'Power' || s.id === 'Energy');
}

/** `/redfish/v1/Chassis/{id}/EnvironmentMetrics` */
export function environmentMetrics(v: ChassisView): Json {
  const uri = chassisUri(v.id);
  return {
    '@odata.type': '#EnvironmentMetrics.v1_3_2.EnvironmentMetrics',
    '@odata.id': `${uri}/EnvironmentMetrics`,
    Id: 'EnvironmentMetrics',
    Name: `${v.name} environment metrics`,
    PowerWatts: { DataSourceUri: `${uri}/Sensors/Power`, Reading: v.powerWatts },
    EnergykWh: { DataSourceUri: `${uri}/Sensors/Energy`, Reading: v.energyKWh },
  };
}

/** `/redfish/v1/Chassis/{id}/Sensors` */
export function sensorCollection(v: ChassisView): Json {
  const uri = `${chassisUri(v.id)}/Sensors`;
  const members = sensorsOf(v).map((s) => ({ '@odata.id': `${uri}/${s.id}` }));
  return {
    '@odata.type': '#SensorCollection.SensorCollection',
    '@odata.id': uri,
    Name: 'Sensors',
    'Members@odata.count': members.length,
    Members: members,
  };
}

/** `/redfish/v1/Chassis/{id}/Sensors/{sensorId}`, or undefined for an unknown sensor. */
export function sensor(v: ChassisView, sensorId: string): Json | undefined {
  const def = sensorsOf(v).find((s) => s.id === sensorId);
  if (def === undefined) return undefined;
  return {
    '@odata.type': '#Sensor.v1_7_0.Sensor',
    '@odata.id': `${chassisUri(v.id)}/Sensors/${def.id}`,
    Id: def.id,
    Name: def.name,
    ReadingType: def.readingType,
    ReadingUnits: def.units,
    Reading: def.value(v),
    PhysicalContext: 'Chassis',
    Status: status(v),
  };
}

/**
 * The DMTF JSON Schema that describes a resource of type `odataType` (`#Chassis.v1_21_0.Chassis` →
 * `…/Chassis.v1_21_0.json`, `#ChassisCollection.ChassisCollection` → `…/ChassisCollection.json`). DSP0266 asks
 * for it in a `Link: <…>; rel=describedby` header on every GET and HEAD, versioned like the `@odata.type`.
 */
export function jsonSchemaUri(odataType: string): string {
  const namespace = odataType.replace(/^#/, '').split('.').slice(0, -1).join('.');
  return `${DMTF_SCHEMAS}/${namespace}.json`;
}

/** A Redfish error body (DMTF Base message registry). */
export function redfishError(messageId: string, message: string): Json {
  return {
    error: {
      code: `Base.1.16.${messageId}`,
      message,
      '@Message.ExtendedInfo': [{ MessageId: `Base.1.16.${messageId}`, Message: message, Severity: 'Critical' }],
    },
  };
}
