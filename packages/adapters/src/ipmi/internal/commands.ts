/** Network functions (IPMI v2.0 §5.1). */
export const NetFn = Object.freeze({ SENSOR: 0x04, APP: 0x06, STORAGE: 0x0a, GROUP_EXT: 0x2c });

/** Command numbers used here (IPMI v2.0 appendix G, DCMI v1.5 §6). */
export const Cmd = Object.freeze({
  GET_DEVICE_ID: 0x01,
  GET_CHANNEL_AUTH_CAPABILITIES: 0x38,
  GET_SESSION_CHALLENGE: 0x39,
  ACTIVATE_SESSION: 0x3a,
  SET_SESSION_PRIVILEGE: 0x3b,
  CLOSE_SESSION: 0x3c,
  RESERVE_SDR_REPOSITORY: 0x22,
  GET_SDR: 0x23,
  GET_SENSOR_READING: 0x2d,
  SEND_MESSAGE: 0x34,
  DCMI_GET_CAPABILITIES: 0x01,
  DCMI_GET_POWER_READING: 0x02,
});

/** DCMI group extension identifier. */
export const DCMI_GROUP = 0xdc;

/** Completion codes (IPMI v2.0 table 5-2) named for messages. */
export const COMPLETION_CODE_TEXT: Readonly<Record<number, string>> = Object.freeze({
  0xc0: 'node busy',
  0xc1: 'invalid command',
  0xc2: 'command invalid for given LUN',
  0xc3: 'timeout while processing command',
  0xc4: 'out of space',
  0xc5: 'reservation cancelled or invalid reservation id',
  0xc6: 'request data truncated',
  0xc7: 'request data length invalid',
  0xc8: 'request data field length limit exceeded',
  0xc9: 'parameter out of range',
  0xca: 'cannot return number of requested data bytes',
  0xcb: 'requested sensor, data, or record not present',
  0xcc: 'invalid data field in request',
  0xcd: 'command illegal for specified sensor or record type',
  0xce: 'command response could not be provided',
  0xcf: 'cannot execute duplicated request',
  0xd0: 'SDR repository in update mode',
  0xd1: 'device in firmware update mode',
  0xd2: 'BMC initialization in progress',
  0xd3: 'destination unavailable',
  0xd4: 'insufficient privilege level',
  0xd5: 'command not supported in present state',
  0xd6: 'command sub-function disabled or unavailable',
  0xff: 'unspecified error',
});

/** Privilege levels (IPMI v2.0 §6.8). */
export const PRIVILEGE_LEVELS = Object.freeze({ callback: 1, user: 2, operator: 3, admin: 4 });

/** Get Channel Authentication Capabilities answer (§22.13), the parts we use. */
export interface ChannelAuthCapabilities {
  channel: number;
  /** The BMC speaks IPMI v2.0 / RMCP+. */
  ipmi20: boolean;
  /** The BMC speaks IPMI v1.5 sessions. */
  ipmi15: boolean;
  /** IPMI v1.5 MD5 authentication is enabled on the channel. */
  md5: boolean;
}

/** Request data: channel Eh (this one) with bit 7 set to ask for the v2.0 extended data. */
export function encodeGetChannelAuthCapabilities(privilege: number): Buffer {
  return Buffer.from([0x8e, privilege & 0x0f]);
}

export function decodeChannelAuthCapabilities(data: Buffer): ChannelAuthCapabilities {
  if (data.length < 8) throw new Error(`Get Channel Auth Capabilities answer of ${data.length} bytes is too short`);
  const extended = ((data[1] ?? 0) & 0x80) !== 0;
  const ext = data[3] ?? 0;
  return {
    channel: data[0] ?? 0,
    ipmi20: extended && (ext & 0x02) !== 0,
    ipmi15: !extended || (ext & 0x01) !== 0,
    md5: ((data[1] ?? 0) & 0x04) !== 0,
  };
}

/** Get Device ID answer (§20.1), the parts we use. */
export interface DeviceId {
  deviceId: number;
  firmware: string;
  ipmiVersion: string;
  manufacturerId: number;
  productId: number;
}

export function decodeDeviceId(data: Buffer): DeviceId {
  if (data.length < 11) throw new Error(`Get Device ID answer of ${data.length} bytes is too short`);
  const minorBcd = data[3] ?? 0;
  const version = data[4] ?? 0;
  return {
    deviceId: data[0] ?? 0,
    firmware: `${(data[2] ?? 0) & 0x7f}.${(minorBcd >> 4).toString(10)}${(minorBcd & 0x0f).toString(10)}`,
    ipmiVersion: `${version & 0x0f}.${version >> 4}`,
    manufacturerId: ((data[6] ?? 0) | ((data[7] ?? 0) << 8) | ((data[8] ?? 0) << 16)) & 0x0fffff,
    productId: (data[9] ?? 0) | ((data[10] ?? 0) << 8),
  };
}

/** DCMI Get Power Reading request for "system power statistics" (DCMI v1.5 §6.6.1). */
export function encodeDcmiGetPowerReading(): Buffer {
  return Buffer.from([DCMI_GROUP, 0x01, 0x00, 0x00]);
}

/** DCMI Get Power Reading answer. */
export interface DcmiPowerReading {
  currentWatts: number;
  minimumWatts: number;
  maximumWatts: number;
  averageWatts: number;
  /** BMC clock, seconds since the epoch. */
  timestampS: number;
  /** Statistics reporting period in ms. */
  periodMs: number;
  /** Bit 6 of the power reading state: the BMC measures power right now. */
  active: boolean;
}

export function decodeDcmiPowerReading(data: Buffer): DcmiPowerReading {
  if (data.length < 18 || data[0] !== DCMI_GROUP) {
    throw new Error(`DCMI Get Power Reading answer of ${data.length} bytes is malformed`);
  }
  return {
    currentWatts: data.readUInt16LE(1),
    minimumWatts: data.readUInt16LE(3),
    maximumWatts: data.readUInt16LE(5),
    averageWatts: data.readUInt16LE(7),
    timestampS: data.readUInt32LE(9),
    periodMs: data.readUInt32LE(13),
    active: ((data[17] ?? 0) & 0x40) !== 0,
  };
}

/** Get SDR request data (§33.12). */
export function encodeGetSdr(reservationId: number, recordId: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16LE(reservationId, 0);
  b.writeUInt16LE(recordId, 2);
  b[4] = offset;
  b[5] = length;
  return b;
}

/** Get Sensor Reading answer (§35.14). */
export interface SensorReading {
  raw: number;
  scanningEnabled: boolean;
  unavailable: boolean;
}

export function decodeSensorReading(data: Buffer): SensorReading {
  if (data.length < 2) throw new Error(`Get Sensor Reading answer of ${data.length} bytes is too short`);
  const flags = data[1] ?? 0;
  return { raw: data[0] ?? 0, scanningEnabled: (flags & 0x40) !== 0, unavailable: (flags & 0x20) !== 0 };
}
