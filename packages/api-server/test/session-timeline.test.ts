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
