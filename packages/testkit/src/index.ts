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
} from './common.js';
