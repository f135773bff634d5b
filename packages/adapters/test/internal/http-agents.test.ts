import { sharedAgents } from '../../src/internal/http-agents.js';

describe('sharedAgents', () => {
  it('hands out one agent when clients have the same TLS settings', () => {
    const a = sharedAgents.https({ verifyCert: true, ca: undefined });
    const b = sharedAgents.https({ verifyCert: true, ca: undefined });
    expect(a.agent).toBe(b.agent);
    a.release();
    b.release();
  });

  it('hands out separate agents when verification or the extra CA differ', () => {
    const verifying = sharedAgents.https({ verifyCert: true, ca: undefined });
    const insecure = sharedAgents.https({ verifyCert: false, ca: undefined });
    const withCa = sharedAgents.https({ verifyCert: true, ca: Buffer.from('ca one') });
    const otherCa = sharedAgents.https({ verifyCert: true, ca: Buffer.from('ca two') });
    const sameCa = sharedAgents.https({ verifyCert: true, ca: Buffer.from('ca one') });
    const agents = [verifying.agent, insecure.agent, withCa.agent, otherCa.agent];
    expect(new Set(agents).size).toBe(4);
    expect(sameCa.agent).toBe(withCa.agent);
    expect(insecure.agent.options.rejectUnauthorized).toBe(false);
    expect(verifying.agent.options.rejectUnauthorized).toBe(true);
    for (const lease of [verifying, insecure, withCa, otherCa, sameCa]) lease.release();
  });

  it('keeps an agent while any client holds it and makes a new one after the last release', () => {
    const a = sharedAgents.http();
    const b = sharedAgents.http();
    a.release();
    a.release(); // a second release of the same lease must not drop b's reference
    const c = sharedAgents.http();
    expect(c.agent).toBe(b.agent);
    b.release();
    c.release();
    const d = sharedAgents.http();
    expect(d.agent).not.toBe(b.agent);
    d.release();
  });
});
