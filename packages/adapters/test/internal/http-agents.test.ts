import { DEFAULT_HTTP_AGENT, sharedAgents } from '../../src/internal/http-agents.js';

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

  it('lets at most maxSockets requests per origin through and hands a freed slot to the next waiter', async () => {
    const lease = sharedAgents.http();
    const signal = new AbortController().signal;
    const held = await Promise.all(Array.from({ length: DEFAULT_HTTP_AGENT.maxSockets }, () => lease.slot('a:1', signal)));
    let granted = false;
    const waiting = lease.slot('a:1', signal).then((leave) => {
      granted = true;
      return leave;
    });
    // Another origin has its own slots.
    const other = await lease.slot('b:1', signal);
    await new Promise((r) => setImmediate(r));
    expect(granted).toBe(false);
    held[0]?.();
    const leave = await waiting;
    expect(granted).toBe(true);
    leave();
    other();
    for (const h of held) h();
    lease.release();
  });

  it('rejects with the abort reason and gives up its place when a waiting request is aborted', async () => {
    const lease = sharedAgents.http();
    const signal = new AbortController().signal;
    const held = await Promise.all(Array.from({ length: DEFAULT_HTTP_AGENT.maxSockets }, () => lease.slot('c:1', signal)));
    const controller = new AbortController();
    const aborted = lease.slot('c:1', controller.signal);
    let nextGranted = false;
    const next = lease.slot('c:1', signal).then((leave) => {
      nextGranted = true;
      return leave;
    });
    controller.abort(new Error('deadline'));
    await expect(aborted).rejects.toThrow('deadline');
    held[0]?.();
    const leave = await next;
    expect(nextGranted).toBe(true);
    leave();
    for (const h of held) h();
    lease.release();
  });
});
