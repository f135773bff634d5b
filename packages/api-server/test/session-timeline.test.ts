import { createSessionTimeline, type TimelineSource } from '../src/internal/session-timeline.js';
import type { ScenarioEvent } from '../src/index.js';

const S = 1e9;

/** An in-memory event log answering like the stores do, counting queries. */
class EventLog implements TimelineSource {
  events: ScenarioEvent[] = [];
  queries = 0;
  add(timeNs: number, scenario: string, step = 'running', started = true): void {
    this.events.push({ environment: 'pod', scenario, step, started, timeNs });
    this.events.sort((a, b) => a.timeNs - b.timeNs);
  }
  latest(atNs: number | undefined): ScenarioEvent | undefined {
    return this.events.filter((e) => atNs === undefined || e.timeNs <= atNs).at(-1);
  }
  async lastEvent(_env: string, atNs: number): Promise<ScenarioEvent | undefined> {
    this.queries++;
    return this.latest(atNs);
  }
  async listEvents(_env: string, sinceNs: number): Promise<ScenarioEvent[]> {
    this.queries++;
    return this.events.filter((e) => e.timeNs >= sinceNs);
  }
}

function setup(nowNs: number) {
  const log = new EventLog();
  const clock = { now: nowNs };
  let points = 0;
  const timeline = createSessionTimeline(
    log,
    async (_env, atNs) => {
      points++;
      return log.latest(atNs);
    },
    { now: () => clock.now, marginNs: 0.5 * S, windowNs: 3600 * S },
  );
  return { log, clock, timeline, points: () => points };
}

describe('createSessionTimeline', () => {
  it('answers a stream of older readings from one refresh, exactly as the log', async () => {
    const { log, timeline, points } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    log.add(9_500 * S, 'A', 'two');
    log.add(9_800 * S, 'A', 'two', false);
    for (let t = 8_900; t <= 9_990; t += 10) {
      expect(await timeline.lookup('pod', t * S)).toEqual(log.latest(t * S));
    }
    expect(timeline.stats.refreshes).toBe(1);
    expect(log.queries).toBe(2);
    expect(points()).toBe(0);
  });

  it('asks the store for readings younger than the margin, older than the window, or without a time', async () => {
    const { log, timeline, points } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    expect(await timeline.lookup('pod', 10_000 * S - 0.2 * S)).toMatchObject({ scenario: 'A' });
    expect(await timeline.lookup('pod', 5_000 * S)).toBeUndefined();
    expect(await timeline.lookup('pod', undefined)).toMatchObject({ scenario: 'A' });
    expect(points()).toBe(3);
    expect(timeline.stats.refreshes).toBe(0);
  });

  it('refreshes when a reading is newer than the timeline covers and then sees another process event', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    expect(await timeline.lookup('pod', 9_999 * S)).toMatchObject({ scenario: 'A' });
    // Another process starts B later; its event is readable well within the margin.
    clock.now = 10_010 * S;
    log.add(10_005 * S, 'B');
    expect(await timeline.lookup('pod', 10_004 * S)).toMatchObject({ scenario: 'A' });
    expect(await timeline.lookup('pod', 10_006 * S)).toMatchObject({ scenario: 'B' });
    expect(timeline.stats.refreshes).toBe(2);
  });

  it('does not keep a timeline whose queries began before a local append', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    const during = timeline.lookup('pod', 9_990 * S);
    timeline.invalidate('pod');
    clock.now = 10_001 * S;
    log.add(10_000 * S, 'B');
    expect(await during).toMatchObject({ scenario: 'A' });
    clock.now = 10_002 * S;
    expect(await timeline.lookup('pod', 10_000.5 * S)).toMatchObject({ scenario: 'B' });
    expect(timeline.stats.refreshes).toBe(2);
  });

  it('keeps at most maxEnvironments timelines, dropping the one refreshed longest ago, when many environments post', async () => {
    const log = new EventLog();
    log.add(9_000 * S, 'A');
    const timeline = createSessionTimeline(log, async (_env, atNs) => log.latest(atNs), {
      now: () => 10_000 * S,
      marginNs: 0.5 * S,
      windowNs: 3600 * S,
      maxEnvironments: 3,
    });
    for (const env of ['e0', 'e1', 'e2', 'e3', 'e4']) await timeline.lookup(env, 9_500 * S);
    expect(timeline.stats.refreshes).toBe(5);
    // e2..e4 are kept: asking again costs nothing.
    for (const env of ['e2', 'e3', 'e4']) await timeline.lookup(env, 9_600 * S);
    expect(timeline.stats.refreshes).toBe(5);
    // e0 was dropped: it is fetched again, and still answers as the log does.
    expect(await timeline.lookup('e0', 9_600 * S)).toMatchObject({ scenario: 'A' });
    expect(timeline.stats.refreshes).toBe(6);
    // Re-fetching e0 dropped e2, the oldest kept.
    await timeline.lookup('e3', 9_700 * S);
    await timeline.lookup('e2', 9_700 * S);
    expect(timeline.stats.refreshes).toBe(7);
  });

  it('answers as the store within maxAgeNs once an event that broke the margin (a slow write elsewhere) is readable', async () => {
    const log = new EventLog();
    const clock = { now: 10_000 * S };
    const timeline = createSessionTimeline(log, async (_env, atNs) => log.latest(atNs), {
      now: () => clock.now,
      marginNs: 0.5 * S,
      maxAgeNs: 2 * S,
      windowNs: 3600 * S,
    });
    log.add(9_000 * S, 'A');
    expect(await timeline.lookup('pod', 9_998 * S)).toMatchObject({ scenario: 'A' });
    // Another process stamped B at 9,999 s; its write became readable 1.5 s later, past the margin.
    clock.now = 10_000.5 * S;
    log.add(9_999 * S, 'B');
    // The kept timeline (read at 10,000 s) still answers for 9,999.2 s, without B: within maxAgeNs, allowed.
    expect(await timeline.lookup('pod', 9_999.2 * S)).toMatchObject({ scenario: 'A' });
    expect(timeline.stats.refreshes).toBe(1);
    // Past maxAgeNs it is read again and answers as the store.
    clock.now = 10_002.1 * S;
    expect(await timeline.lookup('pod', 9_999.2 * S)).toEqual(log.latest(9_999.2 * S));
    expect(await timeline.lookup('pod', 9_999.2 * S)).toMatchObject({ scenario: 'B' });
    expect(timeline.stats.refreshes).toBe(2);
  });

  it('reads a timeline at most once per maxAgeNs for a steady stream of old readings (the ingest bench)', async () => {
    const { log, clock, timeline, points } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    // 10 s of readings 15 min old, 100 a second.
    for (let i = 0; i < 1_000; i++) {
      clock.now = 10_000 * S + i * 0.01 * S;
      expect(await timeline.lookup('pod', clock.now - 900 * S)).toMatchObject({ scenario: 'A' });
    }
    expect(points()).toBe(0);
    // Default maxAgeNs 2 s: 10 s of load refresh five times.
    expect(timeline.stats.refreshes).toBeLessThanOrEqual(5);
  });

  it('agrees with the log for random events and readings', async () => {
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const { log, clock, timeline } = setup(0);
    for (let i = 0; i < 200; i++) log.add(Math.floor(rnd() * 7_000) * S + i, `s${i % 7}`, `p${i % 3}`, rnd() > 0.2);
    clock.now = 7_200 * S;
    for (let i = 0; i < 2_000; i++) {
      const t = Math.floor(rnd() * 7_199.5 * S);
      expect(await timeline.lookup('pod', t)).toEqual(log.latest(t));
    }
  });
});

/** What `lastKnown` answers, by scenario and step (`undefined` when it knows nothing; `'none'` when nothing ran). */
function known(k: { event: ScenarioEvent | undefined } | undefined): string | undefined {
  if (k === undefined) return undefined;
  return k.event === undefined ? 'none' : `${k.event.scenario}/${k.event.step}`;
}

describe('createSessionTimeline lastKnown (the fallback while the store cannot be read)', () => {
  it('remembers the answer of a young reading lookup for that time and later ones, not earlier ones', async () => {
    const { log, clock, timeline, points } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    expect(timeline.lastKnown('pod', 10_000 * S)).toBeUndefined();
    expect(await timeline.lookup('pod', 9_999.8 * S)).toMatchObject({ scenario: 'A' });
    expect(points()).toBe(1);
    expect(timeline.lastKnown('pod', 9_999.8 * S)).toEqual({ event: log.latest(9_999.8 * S), asOfNs: 9_999.8 * S });
    clock.now = 10_100 * S;
    expect(known(timeline.lastKnown('pod', 10_099 * S))).toBe('A/running');
    expect(known(timeline.lastKnown('pod'))).toBe('A/running');
    expect(timeline.lastKnown('pod', 9_999.7 * S)).toBeUndefined();
    // A newer lookup replaces it.
    log.add(10_050 * S, 'B');
    expect(await timeline.lookup('pod', 10_099.9 * S)).toMatchObject({ scenario: 'B' });
    expect(known(timeline.lastKnown('pod', 10_100 * S))).toBe('B/running');
    // Nothing read from the store.
    expect(timeline.stats.refreshes).toBe(0);
  });

  it('remembers the answer of an untimed lookup as of the time it was asked, including that nothing runs', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    expect(await timeline.lookup('pod', undefined)).toBeUndefined();
    expect(timeline.lastKnown('pod', 10_000 * S)).toEqual({ event: undefined, asOfNs: 10_000 * S });
    expect(timeline.lastKnown('pod', 9_999.9 * S)).toBeUndefined();
    log.add(10_001 * S, 'A', 'one', true);
    clock.now = 10_002 * S;
    expect(await timeline.lookup('pod', undefined)).toMatchObject({ scenario: 'A', step: 'one' });
    clock.now = 10_500 * S;
    expect(timeline.lastKnown('pod')).toEqual({ event: log.latest(undefined), asOfNs: 10_002 * S });
    expect(timeline.lastKnown('pod', 10_001.5 * S)).toBeUndefined();
  });

  it('forgets it when this process writes an event of the environment', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    expect(await timeline.lookup('pod', undefined)).toMatchObject({ scenario: 'A' });
    expect(known(timeline.lastKnown('pod'))).toBe('A/running');
    clock.now = 10_001 * S;
    await timeline.append('pod', 10_001 * S, async () => log.add(10_001 * S, 'B'));
    expect(timeline.lastKnown('pod')).toBeUndefined();
    expect(timeline.lastKnown('pod', 10_002 * S)).toBeUndefined();
    // The next lookup is remembered again.
    clock.now = 10_002 * S;
    expect(await timeline.lookup('pod', undefined)).toMatchObject({ scenario: 'B' });
    expect(known(timeline.lastKnown('pod'))).toBe('B/running');
  });

  it('does not remember a lookup that overlapped an event write of this process (it began before, ended after)', async () => {
    const log = new EventLog();
    const clock = { now: 10_000 * S };
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The store answers before the event is written; the answer arrives after.
    const timeline = createSessionTimeline(
      log,
      async (_env, atNs) => {
        const e = log.latest(atNs);
        await gate;
        return e;
      },
      { now: () => clock.now, marginNs: 0.5 * S, windowNs: 3600 * S },
    );
    log.add(9_000 * S, 'A');
    const during = timeline.lookup('pod', undefined);
    await timeline.append('pod', 9_999.9 * S, async () => log.add(9_999.9 * S, 'B'));
    open();
    expect(await during).toMatchObject({ scenario: 'A' });
    expect(timeline.lastKnown('pod')).toBeUndefined();
    expect(await timeline.lookup('pod', undefined)).toMatchObject({ scenario: 'B' });
    expect(known(timeline.lastKnown('pod'))).toBe('B/running');
  });

  it('answers the times a kept timeline covers from it, however much older than maxAgeNs it is', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    log.add(9_500 * S, 'A', 'two');
    expect(await timeline.lookup('pod', 9_990 * S)).toMatchObject({ step: 'two' });
    expect(timeline.stats.refreshes).toBe(1);
    clock.now = 20_000 * S;
    expect(timeline.lastKnown('pod', 9_400 * S)).toEqual({ event: log.latest(9_400 * S), asOfNs: 9_999.5 * S });
    expect(known(timeline.lastKnown('pod', 9_999.5 * S))).toBe('A/two');
    expect(known(timeline.lastKnown('pod', 8_000 * S))).toBe('none');
    // Past what it covers (its read time less the margin), or before its horizon: unknown.
    expect(timeline.lastKnown('pod', 9_999.6 * S)).toBeUndefined();
    expect(timeline.lastKnown('pod', 6_399 * S)).toBeUndefined();
    expect(timeline.lastKnown('pod')).toBeUndefined();
    // lastKnown never reads the store.
    expect(timeline.stats.refreshes).toBe(1);
    expect(log.queries).toBe(2);
  });

  it('does not take the answer for a reading stamped before an event of this process for the state after it', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    await timeline.append('pod', 10_000 * S, async () => log.add(10_000 * S, 'B'));
    // A reading collected 0.1 s before B started, posted after: A rightly tags it.
    clock.now = 10_000.3 * S;
    expect(await timeline.lookup('pod', 9_999.9 * S)).toMatchObject({ scenario: 'A' });
    // But this process wrote B since: a reading of now must not get A.
    expect(known(timeline.lastKnown('pod', 10_000.3 * S))).not.toBe('A/running');
    expect(known(timeline.lastKnown('pod'))).not.toBe('A/running');
    // A spool replay after the event neither.
    clock.now = 20_000 * S;
    expect(await timeline.lookup('pod', 5_000 * S)).toBeUndefined();
    expect(known(timeline.lastKnown('pod'))).not.toBe('none');
  });

  it('answers with an event this process read in a timeline rather than an older remembered answer', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    // GET /recorders/environment/pod: an untimed lookup.
    expect(await timeline.lookup('pod', undefined)).toMatchObject({ scenario: 'A' });
    // Another process starts B; readings collected a second before they are posted read a timeline, which has B.
    log.add(10_005 * S, 'B');
    clock.now = 10_010 * S;
    expect(await timeline.lookup('pod', 10_009 * S)).toMatchObject({ scenario: 'B' });
    expect(known(timeline.lastKnown('pod', 10_009.2 * S))).toBe('B/running');
    expect(known(timeline.lastKnown('pod', 10_011 * S))).not.toBe('A/running');
  });

  it('takes a lookup of a reading stamped ahead of the clock as knowledge of when it was made, not of its stamp', async () => {
    const { log, clock, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    // A collector whose clock is a minute ahead.
    expect(await timeline.lookup('pod', 10_060 * S)).toMatchObject({ scenario: 'A' });
    expect(timeline.lastKnown('pod', 10_000 * S)).toEqual({ event: log.latest(10_000 * S), asOfNs: 10_000 * S });
    // Another process starts B; a reading of the right time reads it.
    log.add(10_001 * S, 'B');
    clock.now = 10_002 * S;
    expect(await timeline.lookup('pod', 10_001.9 * S)).toMatchObject({ scenario: 'B' });
    expect(known(timeline.lastKnown('pod', 10_002 * S))).toBe('B/running');
    expect(known(timeline.lastKnown('pod', 10_061 * S))).toBe('B/running');
  });

  it('knows nothing of an environment it never looked up', async () => {
    const { log, timeline } = setup(10_000 * S);
    log.add(9_000 * S, 'A');
    await timeline.lookup('pod', undefined);
    await timeline.lookup('pod', 9_990 * S);
    expect(timeline.lastKnown('elsewhere')).toBeUndefined();
    expect(timeline.lastKnown('elsewhere', 9_990 * S)).toBeUndefined();
  });
});
