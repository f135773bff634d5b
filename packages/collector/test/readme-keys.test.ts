import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectorSettingsSchema } from '@energyrecorder/core';
import { configKeyPaths, undocumentedKeys } from '@energyrecorder/testkit';

// House rule: every key of `collector-settings.yaml` is documented in this README (adapter keys of
// `PODS[].servers[]` entries beyond id/type/active are the adapters README's).
const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

describe('collector README', () => {
  it('documents every key of collector-settings.yaml when the schema accepts it', () => {
    expect(configKeyPaths(collectorSettingsSchema)).toEqual(expect.arrayContaining(['PODS[].polling_interval', 'COLLECTOR.spool_max_bytes']));
    expect(undocumentedKeys(README, collectorSettingsSchema)).toEqual([]);
  });
});
