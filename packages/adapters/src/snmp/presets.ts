/**
 * OID presets for common rack PDUs. Each preset turns `{pdu, inlet, outlets}` into plain sensors with the
 * vendor's scaling applied, so users do not have to look up MIB units (the usual source of 10x/1000x errors).
 * Every OID here is documented in the package README with the MIB it was checked against.
 */

/** Names of the built-in PDU presets. */
export const SNMP_PRESETS = ['apc-rpdu', 'raritan-px', 'servertech-sentry3', 'servertech-sentry4', 'eaton-epdu'] as const;

/** One of {@link SNMP_PRESETS}. */
export type SnmpPresetName = (typeof SNMP_PRESETS)[number];

/** A sensor produced by a preset (or written by hand): what to GET and how to scale it. */
export interface SnmpSensorSpec {
  name: string;
  oid: string;
  unit: string;
  /** Multiplier applied to the raw value. */
  scale: number;
  /** Added after scaling. */
  offset: number;
  /** Walk the subtree instead of a GET. */
  walk: boolean;
  /** With `walk`: report one reading named `name`, the sum of every row (scaled once, then offset). */
  sum?: boolean;
  /**
   * OID holding the number of decimal digits of this value (Raritan PDU2-MIB): the raw value is divided by
   * 10^digits. Read once, then cached.
   */
  digitsOid?: string;
  /**
   * A negative raw value means "not available" (ServerTech Sentry3/Sentry4 and Eaton ePDU MIBs answer -1 for a
   * reading the unit cannot measure): the value is skipped rather than reported.
   */
  skipNegative?: boolean;
  /**
   * OIDs to read instead, in order, when the agent does not implement `oid` (noSuchObject / noSuchInstance, or
   * noSuchName from a v1 agent). The first one implemented is kept for the following polls, until the agent stops
   * implementing it. A value the agent does answer (even a negative "not available") never switches to another
   * OID: the alternatives may measure less (one phase), which must not pass for the total.
   */
  alternatives?: readonly string[];
}

/** Where the preset points inside the PDU. */
export interface SnmpPresetOptions {
  /** PDU / tower / unit / strapping index; the preset's default when absent. */
  pdu?: number | undefined;
  /** Inlet / infeed / input cord / input index; default 1. */
  inlet?: number | undefined;
  /** Outlet numbers to read power (and energy where the MIB has it) for. */
  outlets?: readonly number[] | undefined;
  /**
   * Eaton only: read this `inputPowerIndex` row of inputPowerTable. When absent the input's total is read from
   * inputTotalPowerTable, else from row 4 (three-phase total), else row 1.
   */
  powerIndex?: number | undefined;
}

/** Whether a preset can read per-outlet values. */
export function presetSupportsOutlets(preset: SnmpPresetName): boolean {
  return preset !== 'servertech-sentry3';
}

function sensor(name: string, oid: string, unit: string, scale = 1, digitsOid?: string): SnmpSensorSpec {
  const s: SnmpSensorSpec = { name, oid, unit, scale, offset: 0, walk: false };
  if (digitsOid !== undefined) s.digitsOid = digitsOid;
  return s;
}

/** A sensor whose MIB answers a negative value when it cannot measure (Sentry3, Sentry4, Eaton ePDU). */
function sentinelSensor(name: string, oid: string, unit: string, scale = 1, alternatives?: readonly string[]): SnmpSensorSpec {
  const s: SnmpSensorSpec = { ...sensor(name, oid, unit, scale), skipNegative: true };
  if (alternatives !== undefined && alternatives.length > 0) s.alternatives = alternatives;
  return s;
}

/** Expands a preset into sensors: `power` (W), `energy`, and `outlet<N>/power`, `outlet<N>/energy`. */
export function expandPreset(preset: SnmpPresetName, options: SnmpPresetOptions = {}): SnmpSensorSpec[] {
  const inlet = options.inlet ?? 1;
  const outlets = options.outlets ?? [];
  const out: SnmpSensorSpec[] = [];
  switch (preset) {
    case 'apc-rpdu': {
      // PowerNet-MIB rPDU2: device power in hundredths of kW, energy in tenths of kWh; metered outlets in W.
      const pdu = options.pdu ?? 1;
      const base = '1.3.6.1.4.1.318.1.1.26';
      out.push(sensor('power', `${base}.4.3.1.5.${pdu}`, 'W', 10));
      out.push(sensor('energy', `${base}.4.3.1.9.${pdu}`, 'kWh', 0.1));
      for (const n of outlets) {
        out.push(sensor(`outlet${n}/power`, `${base}.9.4.3.1.7.${n}`, 'W'));
        out.push(sensor(`outlet${n}/energy`, `${base}.9.4.3.1.11.${n}`, 'kWh', 0.1));
      }
      return out;
    }
    case 'raritan-px': {
      // PDU2-MIB: measurements*SensorValue are integers to divide by 10^*SensorDecimalDigits of the same
      // (pdu, inlet|outlet, sensorType) index. sensorType 5 = activePower (W), 8 = activeEnergy (Wh).
      const pdu = options.pdu ?? 1;
      const value = '1.3.6.1.4.1.13742.6.5';
      const config = '1.3.6.1.4.1.13742.6.3';
      out.push(sensor('power', `${value}.2.3.1.4.${pdu}.${inlet}.5`, 'W', 1, `${config}.3.4.1.7.${pdu}.${inlet}.5`));
      out.push(sensor('energy', `${value}.2.3.1.4.${pdu}.${inlet}.8`, 'Wh', 1, `${config}.3.4.1.7.${pdu}.${inlet}.8`));
      for (const n of outlets) {
        out.push(sensor(`outlet${n}/power`, `${value}.4.3.1.4.${pdu}.${n}.5`, 'W', 1, `${config}.5.4.1.7.${pdu}.${n}.5`));
        out.push(sensor(`outlet${n}/energy`, `${value}.4.3.1.4.${pdu}.${n}.8`, 'Wh', 1, `${config}.5.4.1.7.${pdu}.${n}.8`));
      }
      return out;
    }
    case 'servertech-sentry3': {
      // Sentry3-MIB infeedTable, index (tower, infeed): infeedPower in W, infeedEnergy in tenths of kWh; both
      // INTEGER(-1..), "a negative value indicates that the ... was not available".
      const tower = options.pdu ?? 1;
      const base = '1.3.6.1.4.1.1718.3.2.2.1';
      out.push(sentinelSensor('power', `${base}.12.${tower}.${inlet}`, 'W'));
      out.push(sentinelSensor('energy', `${base}.16.${tower}.${inlet}`, 'kWh', 0.1));
      return out;
    }
    case 'servertech-sentry4': {
      // Sentry4-MIB st4InputCordMonitorTable (unit, cord): ActivePower W, Energy tenths of kWh;
      // st4OutletMonitorTable (unit, cord, outlet): ActivePower W, Energy Wh. All Integer32(-1..): -1 when the
      // unit cannot measure.
      const unit = options.pdu ?? 1;
      const cord = '1.3.6.1.4.1.1718.4.1.3.3.1';
      const outlet = '1.3.6.1.4.1.1718.4.1.8.3.1';
      out.push(sentinelSensor('power', `${cord}.3.${unit}.${inlet}`, 'W'));
      out.push(sentinelSensor('energy', `${cord}.10.${unit}.${inlet}`, 'kWh', 0.1));
      for (const n of outlets) {
        out.push(sentinelSensor(`outlet${n}/power`, `${outlet}.7.${unit}.${inlet}.${n}`, 'W'));
        out.push(sentinelSensor(`outlet${n}/energy`, `${outlet}.14.${unit}.${inlet}.${n}`, 'Wh'));
      }
      return out;
    }
    case 'eaton-epdu': {
      // EATON-EPDU-MIB: inputTotalPowerTable (strapping, input) inputTotalWatts W, inputTotalWh Wh: the whole
      // input, every phase. inputPowerTable (strapping, input, inputPowerIndex) has one row per measurement
      // (inputPowerMeasType phase1, phase2, phase3, total): on a three-phase unit its row 1 is phase 1 alone. Units
      // without the total table (NUT's eaton-pdu-marlin-mib: "Marlin") keep the three-phase total at row 4 and the
      // single-phase one at row 1. outletPowerTable (strapping, outlet) outletWatts W, outletWh Wh. Watts are
      // Integer32, "a negative value indicates that this object is not available". Strapping index 0 is the host.
      const strap = options.pdu ?? 0;
      const base = '1.3.6.1.4.1.534.6.6.7';
      const row = (column: number, index: number): string => `${base}.3.4.1.${column}.${strap}.${inlet}.${index}`;
      if (options.powerIndex === undefined) {
        out.push(sentinelSensor('power', `${base}.3.5.1.4.${strap}.${inlet}`, 'W', 1, [row(4, 4), row(4, 1)]));
        out.push(sentinelSensor('energy', `${base}.3.5.1.5.${strap}.${inlet}`, 'Wh', 1, [row(5, 4), row(5, 1)]));
      } else {
        out.push(sentinelSensor('power', row(4, options.powerIndex), 'W'));
        out.push(sentinelSensor('energy', row(5, options.powerIndex), 'Wh'));
      }
      for (const n of outlets) {
        out.push(sentinelSensor(`outlet${n}/power`, `${base}.6.5.1.3.${strap}.${n}`, 'W'));
        out.push(sentinelSensor(`outlet${n}/energy`, `${base}.6.5.1.4.${strap}.${n}`, 'Wh'));
      }
      return out;
    }
  }
}
