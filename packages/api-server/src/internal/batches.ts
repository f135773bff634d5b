import type { MeasurementBatch, StoredMeasurement } from '../store.js';

/** Groups points by everything but sensor, unit, value and time, keeping their order within each group. */
export function pointsToBatches(points: readonly StoredMeasurement[]): MeasurementBatch[] {
  const groups = new Map<string, MeasurementBatch & { readings: MeasurementBatch['readings'][number][] }>();
  for (const p of points) {
    const key = JSON.stringify([p.equipment, p.environment, p.scenario, p.step, p.topology ?? null]);
    let g = groups.get(key);
    if (g === undefined) {
      g = {
        equipment: p.equipment,
        environment: p.environment,
        scenario: p.scenario,
        step: p.step,
        ...(p.topology === undefined ? {} : { topology: p.topology }),
        readings: [],
      };
      groups.set(key, g);
    }
    g.readings.push({ sensor: p.sensor, unit: p.unit, value: p.value, timeNs: p.timeNs });
  }
  return [...groups.values()];
}
