import type { AdapterDefinition } from '@energyrecorder/core';
import { ipmiAdapter } from './ipmi/adapter.js';
import { snmpAdapterDefinition } from './snmp/adapter.js';
import { modbusAdapterDefinition } from './modbus/adapter.js';
import { redfishAdapter } from './redfish/adapter.js';

/**
 * Every adapter this package ships, as data: build a registry with
 * `createAdapterRegistry(builtinAdapters)` and add your own definitions next to them.
 */
export const builtinAdapters: readonly AdapterDefinition[] = Object.freeze([
  // adapter definitions are listed here, one per line
  ipmiAdapter,
  snmpAdapterDefinition,
  modbusAdapterDefinition,
  redfishAdapter,
]);
