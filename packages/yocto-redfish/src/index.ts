/** Package version, kept in step with package.json. */
export const VERSION = '0.1.0';

export type { Meter, MeterReading, MeterIdentity, MeterStatus, MeterState, MeterHealth } from './meter.js';
export { MeterError, UsbTransferError } from './errors.js';
export type { MeterErrorCode, UsbFailure } from './errors.js';
export { SimulatedMeter } from './simulated-meter.js';
export type { SimulatedMeterOptions } from './simulated-meter.js';
export { parseProfile, parseDurationS, parseReplayCsv } from './profile.js';
export type { PowerProfile } from './profile.js';
export { MeterChannel, DEFAULT_METER_CHANNEL_OPTIONS } from './meter-channel.js';
export type { MeterChannelOptions, ChannelSnapshot, PowerWindowMetrics } from './meter-channel.js';
export { createRedfishService, DEFAULT_REDFISH_SERVICE_OPTIONS, METER_DEADLINE_MARGIN_MS } from './redfish-service.js';
export type { RedfishService, RedfishServiceOptions, ServedMeter } from './redfish-service.js';
export type { RedfishUser } from './internal/redfish/auth.js';
export type { UsbTransport, UsbOpener, UsbDeviceFilter, ControlSetup } from './usb-transport.js';
export { YokogawaMeter, YOKOGAWA_VENDOR_ID, DEFAULT_YOKOGAWA_METER_OPTIONS } from './yokogawa-meter.js';
export type { YokogawaMeterOptions } from './yokogawa-meter.js';
export { YokotoolMeter } from './yokotool-meter.js';
export type { YokotoolMeterOptions } from './yokotool-meter.js';
export { YoctopuceMeter, YOCTOPUCE_VENDOR_ID } from './yoctopuce-meter.js';
export type { YoctopuceMeterOptions } from './yoctopuce-meter.js';
export {
  DEFAULT_YOCTO_REDFISH_SETTINGS,
  yoctoRedfishSettingsSchema,
  meterEntrySchema,
  parseSettings,
  loadSettingsFile,
  readSettingsFile,
  unknownSettingsKeys,
  checkSettingsFiles,
  parseBind,
  createMeters,
} from './settings.js';
export type { YoctoRedfishSettings, MeterEntry, MeterFactoryContext, LoadedSettings } from './settings.js';
