import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configKeyPaths, undocumentedKeys } from '@energyrecorder/testkit';
import { yoctoRedfishSettingsSchema } from '../src/settings.js';

// House rule: every key of the settings file is documented in this README.
const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

describe('yocto-redfish README', () => {
  it('documents every key of the settings file, of every meter driver, when the schema accepts it', () => {
    expect(configKeyPaths(yoctoRedfishSettingsSchema)).toEqual(expect.arrayContaining(['POWERMETERS[].hub_url', 'POWERMETERS[].profile', 'AUTH.session_timeout_s']));
    expect(undocumentedKeys(README, yoctoRedfishSettingsSchema)).toEqual([]);
  });
});
