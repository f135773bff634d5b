export {
  EnergyRecorderError,
  ConfigError,
  AdapterError,
  HttpStatusError,
  TimeoutError,
  ValidationError,
  parseRetryAfterMs,
  MAX_RETRY_AFTER_MS,
} from './errors.js';
export type {
  EnergyRecorderErrorOptions,
  ConfigIssue,
  AdapterErrorOptions,
  HttpStatusErrorOptions,
} from './errors.js';
export { noopLogger } from './logger.js';
export type { Logger, LogFields } from './logger.js';
export {
  NS_PER_MS,
  NS_PER_S,
  MIN_PLAUSIBLE_NS,
  MAX_PLAUSIBLE_NS,
  nowNs,
  createWallClockNs,
  msToNs,
  nsToMs,
  guessTimestampUnit,
} from './time.js';
export { MAX_NAME_LENGTH, NAME_FORBIDDEN_CHARACTERS, RESERVED_TAG_KEYS, nameProblem } from './names.js';
export { splitUrlCredentials } from './url.js';
export { NOT_SPECIFIED, INITIAL_STEP } from './domain.js';
export type { Reading, Topology, MeasurementBatch, RecordingSession, PowerSample } from './domain.js';
export { createAdapterRegistry, zodIssuesToConfigIssues } from './adapter.js';
export type {
  PowerAdapter,
  AdapterContext,
  AdapterDefinition,
  AdapterRegistry,
  ParsedAdapterConfig,
} from './adapter.js';
export { caseVariantConfigKeys, parseConfig, unknownConfigKeys, unknownDeviceKeys } from './config/parse.js';
export { configBoolean } from './config/yaml-booleans.js';
export { configVerifyCert, nullAsDefault, resolveVerifyCert } from './config/verify-cert.js';
export { parseSettingsYaml } from './config/yaml.js';
export type { SettingsYaml, YamlModule } from './config/yaml.js';
export { topologyMapSchema } from './config/topology.js';
export {
  DEFAULT_COLLECTOR_SETTINGS,
  collectorSettingsSchema,
  podSchema,
  deviceEntrySchema,
  recorderApiServerSchema,
  collectorSectionSchema,
} from './config/collector-settings.js';
export type {
  CollectorSettings,
  PodSettings,
  DeviceEntry,
  RecorderApiServerSettings,
} from './config/collector-settings.js';
export {
  DEFAULT_WEBAPP_SETTINGS,
  webappSettingsSchema,
  influxSettingsSchema,
  mqttSettingsSchema,
  storeSettingsSchema,
  authSettingsSchema,
  apiUserSchema,
  tlsSettingsSchema,
  logSettingsSchema,
} from './config/webapp-settings.js';
export type { WebappSettings, InfluxSettings, MqttSettings, ApiUser } from './config/webapp-settings.js';
export { DEFAULT_INTEGRATION_OPTIONS, integrateEnergy, medianSpacingNs, sortPowerSamples } from './energy.js';
export type { IntegrationOptions, EnergyGap, EnergyResult } from './energy.js';
export {
  encodePoint,
  encodePoints,
  escapeMeasurement,
  escapeTag,
  decodeTagValue,
  quoteFieldString,
} from './line-protocol.js';
export type { Point, FieldValue } from './line-protocol.js';
export { REPORT_CSV_HEADER, reportToCsv } from './report.js';
export type {
  RunningScenario,
  SessionStep,
  SessionSummary,
  SessionsResponse,
  EquipmentEnergy,
  StepEnergy,
  EnergyReport,
} from './report.js';
