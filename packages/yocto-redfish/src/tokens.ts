import type { InjectionToken } from 'tsyringe';
import type { Logger } from '@energyrecorder/core';
import type { RedfishService, ServedMeter } from './redfish-service.js';
import type { YoctoRedfishSettings } from './settings.js';

/** Validated settings. */
export const SETTINGS: InjectionToken<YoctoRedfishSettings> = Symbol('yocto-redfish.settings');
/** Root logger. */
export const LOGGER: InjectionToken<Logger> = Symbol('yocto-redfish.logger');
/** Bind address after CLI overrides. */
export const LISTEN: InjectionToken<{ host: string; port: number }> = Symbol('yocto-redfish.listen');
/** The meters to serve. */
export const METERS: InjectionToken<ServedMeter[]> = Symbol('yocto-redfish.meters');
/** The Redfish service. */
export const SERVICE: InjectionToken<RedfishService> = Symbol('yocto-redfish.service');
