import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { webappSettingsSchema } from '@energyrecorder/core';
import { configKeyPaths, undocumentedKeys } from '@energyrecorder/testkit';

// House rule: every key of `webapp-settings.yaml` is documented in this README.
const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

describe('api-server README', () => {
  it('documents every key of webapp-settings.yaml when the schema accepts it', () => {
    expect(configKeyPaths(webappSettingsSchema)).toEqual(expect.arrayContaining(['INFLUX.host', 'AUTH.users[].role', 'STORE.retention']));
    expect(undocumentedKeys(README, webappSettingsSchema)).toEqual([]);
  });
});
