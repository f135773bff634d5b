import { devicePath } from '../../src/internal/http.js';

describe('devicePath (session Location, links)', () => {
  it('keeps a relative Location as it is', () => {
    expect(devicePath('/redfish/v1/SessionService/Sessions/7')).toBe('/redfish/v1/SessionService/Sessions/7');
  });

  it('keeps only the path of an absolute Location, so the token never leaves this device', () => {
    expect(devicePath('https://10.1.2.3/redfish/v1/SessionService/Sessions/admin5f2/')).toBe('/redfish/v1/SessionService/Sessions/admin5f2/');
    expect(devicePath('http://ilo.example:8443/rest/v1/Sessions/a?x=1')).toBe('/rest/v1/Sessions/a?x=1');
  });

  it('gives nothing to delete when the Location is not an http(s) URL or a path', () => {
    expect(devicePath('ftp://host/session')).toBeUndefined();
    expect(devicePath('https://[bad')).toBeUndefined();
  });
});
