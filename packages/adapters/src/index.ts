export { builtinAdapters } from './builtin.js';
export { SnmpAdapter, snmpAdapterDefinition } from './snmp/adapter.js';
export type { SnmpAdapterOptions } from './snmp/adapter.js';
export { DEFAULT_SNMP, snmpConfigSchema, snmpSensorSchema, resolveSnmpSensors, resolveV3User } from './snmp/config.js';
export type { SnmpConfig, SnmpV3User } from './snmp/config.js';
export { SNMP_PRESETS, expandPreset, presetSupportsOutlets } from './snmp/presets.js';
export type { SnmpPresetName, SnmpPresetOptions, SnmpSensorSpec } from './snmp/presets.js';
export { SnmpType, decodeVarbind, decodeText, scaleValue, bufferToUnsigned } from './snmp/decode.js';
export type { SnmpDecoded } from './snmp/decode.js';
export {
  lookupAuthProtocol,
  lookupPrivProtocol,
  SNMP_AUTH_PROTOCOL_NAMES,
  SNMP_PRIV_PROTOCOL_NAMES,
} from './snmp/protocols.js';
export type { SnmpAuthProtocol, SnmpPrivProtocol, ProtocolLookup } from './snmp/protocols.js';
export { ipmiAdapter, createIpmiAdapter, ipmiConfigSchema, DEFAULT_IPMI, IpmiErrorCode } from './ipmi/index.js';
export type { IpmiAdapterOptions, IpmiConfig } from './ipmi/index.js';
export { parseFullSensorRecord, convertReading, selectPowerSensors, MANUFACTURER_POWER_SENSORS } from './ipmi/index.js';
export type { FullSensorRecord } from './ipmi/index.js';
export { redfishAdapter } from './redfish/adapter.js';
export { DEFAULT_REDFISH, redfishConfigSchema } from './redfish/config.js';
export type { RedfishConfig } from './redfish/config.js';
export {
  POWER_SOURCES as REDFISH_POWER_SOURCES,
  parseChassis as parseRedfishChassis,
  parseEnvironmentMetrics,
  parsePowerControl,
  parseThermal,
  parseThermalMetrics,
  pickPowerSensors,
  sumPowerSupplyMetrics,
  topLevelChassis,
} from './redfish/parsers.js';
export type { ChassisInfo as RedfishChassisInfo, SourceOutcome as RedfishSourceOutcome } from './redfish/parsers.js';
export { HttpClient, HTTP_ERROR_CODES, parseDeviceAddress } from './internal/http.js';
export type { HttpClientOptions, HttpRequest, HttpResponse, HttpAuthScheme, DeviceAddress } from './internal/http.js';
export { ModbusAdapter, modbusAdapterDefinition } from './modbus/adapter.js';
export type { ModbusAdapterOptions } from './modbus/adapter.js';
export { DEFAULT_MODBUS, modbusConfigSchema, modbusSensorSchema } from './modbus/config.js';
export type { ModbusConfig, ModbusSensorConfig } from './modbus/config.js';
export {
  MODBUS_REGISTER_TYPES,
  MODBUS_MAX_REGISTERS_PER_READ,
  decodeRegisters,
  planReads,
  registerCount,
  scaleRegisterValue,
  parseHostPort,
} from './modbus/decode.js';
export type {
  ModbusRegisterType,
  ModbusWordOrder,
  ModbusRegisterCategory,
  ModbusPlanInput,
  ModbusReadGroup,
} from './modbus/decode.js';
