import { PayloadProblem } from '../../src/internal/http-shape.js';
import { parseIdracLogin, parseIdracPowerGraph } from '../../src/idrac8-gui/adapter.js';
import { cleanIbmcResponse, parseIbmcPower } from '../../src/ibmc-gui/adapter.js';
import { parseIloGuiPower, parseIloGuiSessionKey } from '../../src/ilo-gui/adapter.js';
import { cleanIntelPseudoJson, parseIntelPower, parseIntelSessionCookie } from '../../src/intel-gui/adapter.js';
import { httpFixture } from '../fakes/http-devices.js';

describe('web UI parsers', () => {
  it('reads the iLO Gen8 session key and the newest fast power sample', () => {
    expect(parseIloGuiSessionKey({ session_key: 'abc' })).toBe('abc');
    expect(parseIloGuiPower(JSON.parse(httpFixture('hpe-ilo3-gen8-1.88-power-history-fast.json')))).toBe(163);
    expect(() => parseIloGuiPower({ samples: [] })).toThrow(PayloadProblem);
  });

  it('reads the iDRAC 8 ST2 token and the last power record', () => {
    expect(parseIdracLogin(httpFixture('dell-idrac8-2.70-login.xml'))).toBe('9f8e7d6c5b4a39281706');
    expect(parseIdracPowerGraph(httpFixture('dell-idrac8-2.70-powergraphdata.xml'))).toBe(257);
    expect(() => parseIdracLogin('<root><authResult>1</authResult></root>')).toThrow(/authResult 1/);
    expect(() => parseIdracPowerGraph('<root><lastHourData><powerData><record>n/a,1</record></powerData></lastHourData></root>')).toThrow(/does not start with a number/);
  });

  it('cleans Intel pseudo-JSON and reads the session cookie and the current power', () => {
    expect(parseIntelSessionCookie(cleanIntelPseudoJson(httpFixture('intel-s2600wt-01.01-create.txt')))).toBe('Ub7xGk1tVt8hR3Qa0000');
    expect(parseIntelPower(cleanIntelPseudoJson(httpFixture('intel-s2600wt-01.01-getpowerstat.txt')))).toBe(143);
    expect(() => cleanIntelPseudoJson('<html>login</html>')).toThrow(PayloadProblem);
  });

  it('reads Intel power as LSB_CURR + 256 * MSB_CURR, so 256 W and more are not cut to their low byte', () => {
    const fixture = httpFixture('intel-s2600wt-01.01-getpowerstat.txt');
    const withBytes = (lsb: unknown, msb: unknown): unknown =>
      cleanIntelPseudoJson(fixture.replace("'LSB_CURR' : 143,'MSB_CURR' : 0", `'LSB_CURR' : ${String(lsb)},'MSB_CURR' : ${String(msb)}`));
    expect(parseIntelPower(withBytes(44, 1))).toBe(300); // 0x012C
    expect(parseIntelPower(withBytes(0, 1))).toBe(256); // the original read 0 and sent nothing
    expect(parseIntelPower(withBytes(255, 3))).toBe(1023);
    expect(() => parseIntelPower(withBytes(44, null))).toThrow(/MSB_CURR is absent or null/);
    expect(() => parseIntelPower(withBytes(300, 0))).toThrow(/LSB_CURR is 300, not a byte/);
  });

  it('decodes the iBMC answer with its leading junk character and %22 quotes', () => {
    expect(parseIbmcPower(cleanIbmcResponse(httpFixture('huawei-ibmc-2288hv5-3.22-getmultiproperty.txt')))).toBe(276);
    expect(() => parseIbmcPower(cleanIbmcResponse('{"SysPower":[{"Power":null}]}'))).toThrow(/SysPower\[0\]\.Power is absent or null/);
  });
});
