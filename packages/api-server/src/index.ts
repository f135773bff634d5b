/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';
export { createApiServer, createStoreFromSettings, parseWebappSettings } from './api-server.js';
export type { ApiServer, ApiServerOptions } from './api-server.js';
export type { ApiEvent, EventReading } from './internal/app.js';
export { StoreError, StoreUnavailableError } from './errors.js';
export type { Store, ScenarioEvent, StoredMeasurement, StoredReading, MeasurementBatch, EquipmentSample, PowerQuery } from './store.js';
export { createSqliteStore, DEFAULT_SQLITE_STORE_OPTIONS } from './impl/sqlite-store.js';
export type { SqliteStore, SqliteStoreOptions } from './impl/sqlite-store.js';
export { createInfluxStore, INFLUX_SCHEMA } from './impl/influx-store.js';
export type { InfluxStoreOptions } from './impl/influx-store.js';
export { applySessionEvent, deriveSessions, DEFAULT_SESSION_OPTIONS } from './sessions.js';
export type { SessionEvent, SessionOptions } from './sessions.js';
export { buildReport } from './report.js';
export { measurementTopic, topicLevel, DEFAULT_MQTT_QUEUE_LIMIT } from './internal/mqtt-republisher.js';
export { createDashboard } from './dashboard/attach.js';
export type { Dashboard, DashboardOptions } from './dashboard/attach.js';
export { createLiveHub, DEFAULT_LIVE_HUB_OPTIONS } from './dashboard/live-hub.js';
export type {
  LiveHub,
  LiveHubOptions,
  LiveEvent,
  LiveFilter,
  LiveBacklog,
  LiveEnvironmentState,
  LiveEnvironmentsMessage,
  LiveMeasurementInput,
  LiveSessionInput,
  LivePowerMessage,
  LiveSessionMessage,
} from './dashboard/live-hub.js';
export { dashboardPlugin, DEFAULT_DASHBOARD_OPTIONS } from './dashboard/plugin.js';
export type { DashboardPluginOptions } from './dashboard/plugin.js';
export type { DashboardUser } from './dashboard/internal/basic-auth.js';
