import { createSessionTimeline, type TimelineSource } from '../src/internal/session-timeline.js';
import type { ScenarioEvent } from '../src/index.js';
import { deferred, settledSoon } from './helpers.js';

const S = 1e9;

/** An in-memory event log; its queries answer from what it holds when they are made. */
class EventLog {
  events: ScenarioEvent[] = [];
  add(environment: string, timeNs: number, scenario: string, step: string): void {
    this.events.push({ environment, scenario, step, started: true, timeNs });
    this.events.sort((a, b) => a.timeNs - b.timeNs);
  }
  latest(environment: string, atNs: number | undefined): ScenarioEvent | undefined {
    return this.events.filter((e) => e.environment === environment && (atNs === undefined || e.timeNs <= atNs)).at(-1);
  }
  since(environment: string, sinceNs: number): ScenarioEvent[] {
    return this.events.filter((e) => e.environment === environment && e.timeNs >= sinceNs);
  }
}

describe('createSessionTimeline append', () => {
  function setup() {
    const log = new EventLog();
    const clock = { now: 10_000 * S };
    // While `holdLists` is set, listEvents answers from the log as it was when asked, but only when released.
    const held: Array<() => void> = [];
    let holdLists = false;
    const source: TimelineSource = {
      lastEvent: async (env, atNs) => log.latest(env, atNs),
      listEvents: (env, sinceNs) => {
        const answer = log.since(env, sinceNs);
        if (!holdLists) return Promise.resolve(answer);
        return new Promise((resolve) => held.push(() => resolve(answer)));
      },
    };
    const timeline = createSessionTimeline(source, async (env, atNs) => log.latest(env, atNs), {
      now: () => clock.now,
      marginNs: 0.5 * S,
      windowNs: 3600 * S,
    });
    return { log, clock, timeline, held, hold: (on: boolean) => void (holdLists = on) };
  }

  it('holds back a lookup at or after a pending event until its write settled, and answers with the event', async () => {
    const { log, timeline } = setup();
    log.add('pod', 9_000 * S, 'S', 'one');
    log.add('other', 9_000 * S, 'S', 'x');
    const write = deferred();
    const appended = timeline.append('pod', 10_000 * S, async () => {
      await write.promise;
      log.add('pod', 10_000 * S, 'S', 'two');
    });

    const atEvent = timeline.lookup('pod', 10_000 * S);
    const after = timeline.lookup('pod', 10_000 * S + 1000);
    const untimed = timeline.lookup('pod', undefined);
    // Lookups the event cannot change go on: older times, other environments.
    expect(await timeline.lookup('pod', 9_999.9 * S)).toMatchObject({ step: 'one' });
    expect(await timeline.lookup('other', 10_000 * S + 1000)).toMatchObject({ step: 'x' });
    expect(await settledSoon(after)).toBe(false);

    write.resolve();
    await appended;
    expect(await atEvent).toMatchObject({ step: 'two' });
    expect(await after).toMatchObject({ step: 'two' });
    expect(await untimed).toMatchObject({ step: 'two' });
  });

  it('releases the waiting lookups when the write fails, answering as the store does', async () => {
    const { log, timeline } = setup();
    log.add('pod', 9_000 * S, 'S', 'one');
    const write = deferred();
    const appended = timeline.append('pod', 10_000 * S, async () => {
      await write.promise;
      throw new Error('store down');
    });
    const after = timeline.lookup('pod', 10_001 * S);
    write.resolve();
    await expect(appended).rejects.toThrow('store down');
    expect(await after).toMatchObject({ step: 'one' });
    // Nothing is left pending: a later lookup does not wait.
    expect(await settledSoon(timeline.lookup('pod', 10_001 * S))).toBe(true);
  });

  it('does not answer from a refresh begun during an event write that outlasted the margin', async () => {
    const { log, clock, timeline, held, hold } = setup();
    log.add('pod', 9_000 * S, 'S', 'one');
    const write = deferred();
    const appended = timeline.append('pod', 10_000 * S, async () => {
      await write.promise;
      log.add('pod', 10_000 * S, 'S', 'two');
    });
    // One second into the write, an older reading refreshes the timeline; its queries run before the event is in.
    clock.now = 10_001 * S;
    hold(true);
    const older = timeline.lookup('pod', 9_999 * S);
    write.resolve();
    await appended;
    hold(false);
    // This reading is covered by the refresh in flight (10,000.2 <= 10,001 - 0.5) but must not take its answer.
    const newer = timeline.lookup('pod', 10_000.2 * S);
    for (const release of held) release();
    expect(await older).toMatchObject({ step: 'one' });
    expect(await newer).toMatchObject({ step: 'two' });
  });
});
