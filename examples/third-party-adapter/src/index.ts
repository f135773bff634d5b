export { acmePduAdapter, acmePduConfigSchema, parseAcmePduStatus } from './acme-pdu.js';
export type { AcmePduConfig } from './acme-pdu.js';
