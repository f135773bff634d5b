/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';
export { createApiServer, createStoreFromSettings, parseWebappSettings } from './api-server.js';
export type { ApiServer, ApiServerOptions } from './api-server.js';
export type { ApiEvent } from './internal/app.js';
export { StoreError, StoreUnavailableError } from './errors.js';
export type { Store, ScenarioEvent, StoredMeasurement, EquipmentSample, PowerQuery } from './store.js';
export { createSqliteStore, DEFAULT_SQLITE_STORE_OPTIONS } from './impl/sqlite-store.js';
export type { SqliteStoreOptions } from './impl/sqlite-store.js';
export { createInfluxStore, INFLUX_SCHEMA } from './impl/influx-store.js';
export type { InfluxStoreOptions } from './impl/influx-store.js';
export { deriveSessions } from './sessions.js';
export type { SessionRecord, SessionStep } from './sessions.js';
export { buildReport, reportToCsv, REPORT_CSV_HEADER } from './report.js';
export type { SessionReport, StepEnergy, EquipmentEnergy } from './report.js';
export { measurementTopic, topicLevel, DEFAULT_MQTT_QUEUE_LIMIT } from './internal/mqtt-republisher.js';
