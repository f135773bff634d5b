import type { AdapterDefinition } from '@energyrecorder/core';
import { ipmiAdapter } from './ipmi/adapter.js';
import { snmpAdapterDefinition } from './snmp/adapter.js';
import { modbusAdapterDefinition } from './modbus/adapter.js';
import { csvFtpAdapterDefinition } from './csvftp/adapter.js';
import { redfishAdapter } from './redfish/adapter.js';
import { iloAdapter } from './ilo/adapter.js';
import { shellyAdapter } from './shelly/adapter.js';
import { rpimonAdapter } from './rpimon/adapter.js';
import { iloGuiAdapter } from './ilo-gui/adapter.js';
import { idrac8GuiAdapter } from './idrac8-gui/adapter.js';
import { intelGuiAdapter } from './intel-gui/adapter.js';
import { ibmcGuiAdapter } from './ibmc-gui/adapter.js';

/**
 * Every adapter this package ships, as data: build a registry with
 * `createAdapterRegistry(builtinAdapters)` and add your own definitions next to them.
 */
export const builtinAdapters: readonly AdapterDefinition[] = Object.freeze([
  // adapter definitions are listed here, one per line
  ipmiAdapter,
  snmpAdapterDefinition,
  modbusAdapterDefinition,
  csvFtpAdapterDefinition,
  redfishAdapter,
  iloAdapter,
  shellyAdapter,
  rpimonAdapter,
  iloGuiAdapter,
  idrac8GuiAdapter,
  intelGuiAdapter,
  ibmcGuiAdapter,
]);
