export {
  getFreePort,
  getFreeUdpPort,
  makeTempDir,
  removeDir,
  waitFor,
  findBinary,
  isCi,
  peerAvailable,
  ManagedProcess,
  PeerExitedError,
  PeerNotReadyError,
  describeExit,
} from './common.js';
export type { WaitForOptions, ProcessExit, ManagedProcessOptions } from './common.js';
export { startInfluxd } from './influxd.js';
export type { StartInfluxdOptions, InfluxdPeer } from './influxd.js';
export { startMosquitto } from './mosquitto.js';
export type { StartMosquittoOptions, MosquittoPeer } from './mosquitto.js';
export { startSnmpd } from './snmpd.js';
export type { SnmpdOptions, SnmpdPeer, SnmpdV3User, SnmpdValueType } from './snmpd.js';
export { startIpmiSim } from './ipmi-sim.js';
export type { IpmiSimOptions, IpmiSimHandle } from './ipmi-sim.js';
export { configKeyPaths, isKeyDocumented, undocumentedKeys } from './docs.js';
export { seededRandom } from './random.js';
export { ODD_JSON_VALUES, mutateJson } from './fuzz.js';
export type { Json } from './fuzz.js';
