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
export { iloAdapter, iloConfigSchema } from './ilo/adapter.js';
export type { IloConfig } from './ilo/adapter.js';
export { iloMessageId, parseFastPowerMeter21, parseFastPowerMeter24, parseIloChassisHrefs } from './ilo/parsers.js';
export { shellyAdapter, shellyConfigSchema, DEFAULT_SHELLY } from './shelly/adapter.js';
export type { ShellyConfig } from './shelly/adapter.js';
export { parseShellyGeneration, parseShellyGen1Status, parseShellyGen2SwitchStatus } from './shelly/parsers.js';
export { rpimonAdapter, rpimonConfigSchema, parseRpiMonitor, RPIMON_UNITS } from './rpimon/adapter.js';
export type { RpimonConfig } from './rpimon/adapter.js';
export { iloGuiAdapter, iloGuiConfigSchema, parseIloGuiPower, parseIloGuiSessionKey } from './ilo-gui/adapter.js';
export type { IloGuiConfig } from './ilo-gui/adapter.js';
export { idrac8GuiAdapter, idrac8GuiConfigSchema, parseIdracLogin, parseIdracPowerGraph } from './idrac8-gui/adapter.js';
export type { Idrac8GuiConfig } from './idrac8-gui/adapter.js';
export {
  intelGuiAdapter,
  intelGuiConfigSchema,
  cleanIntelPseudoJson,
  parseIntelPower,
  parseIntelSessionCookie,
} from './intel-gui/adapter.js';
export type { IntelGuiConfig } from './intel-gui/adapter.js';
export { ibmcGuiAdapter, ibmcGuiConfigSchema, cleanIbmcResponse, parseIbmcPower, IBMC_PROPERTY_REQUEST } from './ibmc-gui/adapter.js';
export type { IbmcGuiConfig } from './ibmc-gui/adapter.js';
export { DEFAULT_HTTP_DEVICE, httpDeviceShape } from './internal/http-config.js';
export { CsvFtpAdapter, csvFtpAdapterDefinition } from './csvftp/adapter.js';
export type { CsvFtpAdapterOptions } from './csvftp/adapter.js';
export { DEFAULT_CSVFTP, csvFtpConfigSchema } from './csvftp/config.js';
export type { CsvFtpConfig } from './csvftp/config.js';
export {
  CSV_NO_UNIT,
  parseMeterCsv,
  parseZone,
  parseWallTime,
  wallToEpochMs,
  zonedWallToEpochMs,
  zoneOffsetMinutes,
  splitCsvLine,
  parseHeaderCell,
  decodeText as decodeCsvText,
  normaliseEncoding,
  isSupportedEncoding,
  globToRegExp,
} from './csvftp/parse.js';
export type { ZoneSpec, CsvWarning, CsvParseResult, CsvParseOptions, WallTime } from './csvftp/parse.js';
