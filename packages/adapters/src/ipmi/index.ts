export { ipmiAdapter, createIpmiAdapter } from './adapter.js';
export type { IpmiAdapterOptions } from './adapter.js';
export { ipmiConfigSchema, DEFAULT_IPMI } from './config.js';
export type { IpmiConfig } from './config.js';
export { IpmiErrorCode } from './errors.js';
export {
  parseFullSensorRecord,
  convertReading,
  selectPowerSensors,
  MANUFACTURER_POWER_SENSORS,
  SDR_UNIT_WATTS,
} from './sdr.js';
export type { FullSensorRecord, AnalogFormat } from './sdr.js';
