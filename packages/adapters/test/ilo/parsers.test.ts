import { iloMessageId, parseFastPowerMeter21, parseFastPowerMeter24, parseIloChassisHrefs } from '../../src/ilo/parsers.js';
import { httpFixture } from '../fakes/http-devices.js';

const fx = (name: string): unknown => JSON.parse(httpFixture(name));

describe('ilo parsers', () => {
  it('lists chassis hrefs from HAL links', () => {
    expect(parseIloChassisHrefs(fx('hpe-ilo4-2.10-chassis.json'))).toEqual(['/rest/v1/Chassis/1']);
    expect(() => parseIloChassisHrefs({})).toThrow(/links\.Member is not an array/);
  });

  it('lists chassis from the Redfish collection iLO 5 and later serve behind /rest/v1', () => {
    expect(parseIloChassisHrefs(fx('synthetic-hpe-ilo5-chassis.json'))).toEqual(['/redfish/v1/Chassis/1/']);
    const both = { links: { Member: [{ href: '/rest/v1/Chassis/1' }] }, Members: [{ '@odata.id': '/redfish/v1/Chassis/1/' }] };
    expect(parseIloChassisHrefs(both)).toEqual(['/rest/v1/Chassis/1']);
    expect(parseIloChassisHrefs({ Members: [{ '@odata.id': 'https://127.0.0.9/redfish/v1/Chassis/2/' }, {}] })).toEqual(['/redfish/v1/Chassis/2/']);
    expect(() => parseIloChassisHrefs({ Members: {} })).toThrow(/nor is Members/);
  });

  it('keeps only the path of an absolute href, so the credentials stay on the configured iLO', () => {
    const body = { links: { Member: [{ href: 'http://127.0.0.9:8080/rest/v1/Chassis/2?x=1' }, { href: 'ftp://h/x' }, { href: '/rest/v1/Chassis/1' }] } };
    expect(parseIloChassisHrefs(body)).toEqual(['/rest/v1/Chassis/2?x=1', '/rest/v1/Chassis/1']);
  });

  it('takes the first PowerDetail on 2.1 and the last on 2.4', () => {
    expect(parseFastPowerMeter21(fx('hpe-ilo4-2.10-fastpowermeter.json'))).toBe(214);
    expect(parseFastPowerMeter21({ Messages: [] })).toBeUndefined();
    expect(parseFastPowerMeter24(fx('hpe-ilo4-2.40-fastpowermeter.json'))).toBe(191);
  });

  it('extracts the MessageID of an error answer', () => {
    expect(iloMessageId(fx('hpe-ilo4-2.40-error.json'))).toBe('iLO.0.10.ExtendedInfo');
    expect(iloMessageId(fx('synthetic-hpe-ilo5-error-404.json'))).toBe('Base.1.4.ResourceMissingAtURI');
    expect(iloMessageId({ error: { '@Message.ExtendedInfo': [{ MessageID: 'Base.0.10.MalformedJSON' }] } })).toBe('Base.0.10.MalformedJSON');
  });
});
