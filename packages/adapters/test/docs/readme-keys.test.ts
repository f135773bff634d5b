import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configKeyPaths, undocumentedKeys } from '@energyrecorder/testkit';
import { builtinAdapters } from '../../src/index.js';

// Every config key an adapter accepts is documented in this package's README (house rule): in the adapter's own
// section, or, for the HTTP adapters, in the table of keys they all share.

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const SECTIONS = README.split(/^## /m);

/** README text of the `## ` sections whose heading names `type` in backquotes. */
const sectionOf = (type: string): string => SECTIONS.filter((p) => (p.split('\n')[0] ?? '').includes(`\`${type}\``)).join('\n');

const SHARED_HTTP = SECTIONS.find((p) => p.startsWith('HTTP adapters')) ?? '';
const NOT_HTTP = new Set(['ipmi', 'snmp', 'modbus', 'csvftp']);
/** Keys of every device entry, documented in the collector README. */
const COMMON = ['id', 'type', 'active'];

describe('adapters README', () => {
  it.each(builtinAdapters.map((d) => [d.type, d] as const))('documents every config key of %s when the schema accepts it', (type, d) => {
    const own = sectionOf(type);
    expect(own).not.toBe('');
    expect(undocumentedKeys(`${own}\n${NOT_HTTP.has(type) ? '' : SHARED_HTTP}`, d.configSchema, { ignore: COMMON })).toEqual([]);
  });

  it('finds the keys of a schema when it is wrapped in a transform', () => {
    expect(configKeyPaths(builtinAdapters.find((d) => d.type === 'redfish')?.configSchema)).toEqual(expect.arrayContaining(['host', 'temperatures']));
  });
});
