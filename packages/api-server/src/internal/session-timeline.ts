import type { ScenarioEvent } from '../store.js';
import type { EventReader } from './session-lookup.js';

/** Where a timeline is read from: the store's two event queries. */
export interface TimelineSource {
  lastEvent(environment: string, atNs: number): Promise<ScenarioEvent | undefined>;
  listEvents(environment: string, sinceNs: number): Promise<ScenarioEvent[]>;
}

/** Options of {@link createSessionTimeline}. */
export interface SessionTimelineOptions {
  /**
   * How long after its time an event is surely readable from the store by every API process: its write latency
   * plus the clock skew between processes. A reading younger than this is always looked up in the store.
   */
  marginNs: number;
  /**
   * How long a timeline answers after its queries began; the next reading it would answer reads it again. This
   * bounds how long an answer may differ from the store when an event became readable later than `marginNs`
   * after its time (a slow write, a write applied after the writer gave up on it, clocks further apart than the
   * margin): at most this long after the store has the event, every process answers as the store does.
   */
  maxAgeNs: number;
  /** How far back a timeline reaches; older readings (spool replays) are looked up in the store. */
  windowNs: number;
  /** Timelines with more events than this are not kept (a runaway script of steps). */
  maxEvents: number;
  /** At most this many environments' timelines are kept; the oldest kept is dropped first (refetched on use). */
  maxEnvironments: number;
  /** Wall clock in ns. */
  now: () => number;
}

/** Defaults of {@link SessionTimelineOptions}. */
export const DEFAULT_SESSION_TIMELINE_OPTIONS = Object.freeze({
  marginNs: 500e6,
  maxAgeNs: 2e9,
  windowNs: 6 * 3600e9,
  maxEvents: 10_000,
  maxEnvironments: 4096,
});

interface Timeline {
  /** Wall time at which the queries began: every event with a time up to `fetchedNs - margin` is in `events`. */
  fetchedNs: number;
  /** Start of the window; `events[0]` may be older (the event in force at the horizon). */
  horizonNs: number;
  /** In time order. */
  events: ScenarioEvent[];
}

/** Counters for `/metrics`. */
export interface SessionTimelineStats {
  hits: number;
  refreshes: number;
  storeLookups: number;
}

/** The session lookup of the ingest path, see {@link createSessionTimeline}. */
export interface SessionTimeline {
  lookup: EventReader;
  /** Forgets an environment's timeline, and any refresh of it in flight. */
  invalidate(environment: string): void;
  /**
   * Runs `write`, this process's store write of an event of `environment` stamped `timeNs`. Until it settles
   * (resolved or rejected), a lookup of that environment at or after `timeNs`, or without a time, waits for it and
   * then reads the store or a timeline read after it; other lookups go on as usual. The timeline is dropped
   * before and after the write.
   */
  append<T>(environment: string, timeNs: number, write: () => Promise<T>): Promise<T>;
  /**
   * What this process last learnt of `environment` for a reading at `atNs` (now when absent), for when the store
   * cannot be read: its kept timeline when that covers `atNs`, else the answer of its newest store lookup when
   * `atNs` is at or after the time that answer holds for (the reading's, or the lookup's when earlier or untimed)
   * and no timeline was kept since; `undefined` when it knows nothing that answers (never looked up, or an event
   * of its own was written since). Events other processes wrote after that knowledge are not in it.
   */
  lastKnown(environment: string, atNs?: number): { event: ScenarioEvent | undefined; asOfNs: number } | undefined;
  readonly stats: SessionTimelineStats;
}

/** An event write of this process in flight. */
interface PendingAppend {
  timeNs: number;
  /** Resolves once the write settled and the timeline was dropped after it. */
  settled: Promise<void>;
}

function latestAtOrBefore(events: readonly ScenarioEvent[], atNs: number): ScenarioEvent | undefined {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid] as ScenarioEvent).timeNs <= atNs) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : events[lo - 1];
}

/**
 * Answers "which session was running on this environment at collect time T" from a per-environment timeline of
 * its events instead of one store query per request (at 1,000 devices, 1,000 InfluxQL queries a second).
 *
 * Events are appended with the wall time of the API process that handles them, and are readable from the store a
 * short while later. A timeline read at wall time W therefore holds every event with a time up to W − margin,
 * whichever process wrote it, and answers any T in [horizon, W − margin] exactly as a store query made now would:
 * events are never rewritten. A reading younger than the margin, older than the window, or without a time goes
 * to the store (`point`, the coalescing exact lookup), so the multi-process guarantee of the exact lookup holds
 * whenever an event's write takes less than the margin to become readable. A timeline is refreshed when a
 * reading is newer than what it covers, and once it is older than `maxAgeNs`, which bounds how long an event that
 * broke the margin can be missed; this process's own appends drop it.
 *
 * An event is stamped before its write, and the store cannot answer with it until the write is done: a reading
 * stamped after the event but looked up meanwhile would get the previous step, and a replay of it, looked up
 * later, the new one (two series in the store). So this process's own event writes (`append`) hold back the
 * lookups they could change, those of their environment at or after their time; the rest never wait.
 */
export function createSessionTimeline(
  source: TimelineSource,
  point: EventReader,
  options: Partial<SessionTimelineOptions> & Pick<SessionTimelineOptions, 'now'>,
): SessionTimeline {
  const marginNs = options.marginNs ?? DEFAULT_SESSION_TIMELINE_OPTIONS.marginNs;
  const maxAgeNs = options.maxAgeNs ?? DEFAULT_SESSION_TIMELINE_OPTIONS.maxAgeNs;
  const windowNs = options.windowNs ?? DEFAULT_SESSION_TIMELINE_OPTIONS.windowNs;
  const maxEvents = options.maxEvents ?? DEFAULT_SESSION_TIMELINE_OPTIONS.maxEvents;
  const maxEnvironments = options.maxEnvironments ?? DEFAULT_SESSION_TIMELINE_OPTIONS.maxEnvironments;
  const now = options.now;
  const timelines = new Map<string, Timeline>();
  const generations = new Map<string, number>();
  const refreshing = new Map<string, { fetchedNs: number; done: Promise<Timeline | undefined> }>();
  const appending = new Map<string, PendingAppend[]>();
  const stats: SessionTimelineStats = { hits: 0, refreshes: 0, storeLookups: 0 };
  /**
   * Per environment, the newest answer of a point lookup, while no local event was written since: the store's state
   * as of `asOfNs`: the reading's time, or when the lookup was made if that is earlier or the reading has none.
   */
  const lastAnswers = new Map<string, { asOfNs: number; event: ScenarioEvent | undefined }>();
  /** Per environment, the latest time of an event write of this process. */
  const ownEvents = new Map<string, number>();
  const remember = (environment: string, generation: number, asOfNs: number, event: ScenarioEvent | undefined): void => {
    // A lookup that overlapped a local event write may lack it; one of a time before such an event does.
    if ((generations.get(environment) ?? 0) !== generation || asOfNs < (ownEvents.get(environment) ?? -Infinity)) return;
    const kept = lastAnswers.get(environment);
    if (kept !== undefined && kept.asOfNs > asOfNs) return;
    lastAnswers.delete(environment);
    lastAnswers.set(environment, { asOfNs, event });
    if (lastAnswers.size > maxEnvironments) lastAnswers.delete(lastAnswers.keys().next().value as string);
  };

  const covers = (t: Timeline | undefined, atNs: number, nowNs: number): t is Timeline =>
    t !== undefined && atNs >= t.horizonNs && atNs <= t.fetchedNs - marginNs && nowNs - t.fetchedNs <= maxAgeNs;

  const refresh = (environment: string): { fetchedNs: number; done: Promise<Timeline | undefined> } => {
    const fetchedNs = now();
    const horizonNs = fetchedNs - windowNs;
    const generation = generations.get(environment) ?? 0;
    stats.refreshes++;
    const done = Promise.all([source.lastEvent(environment, horizonNs), source.listEvents(environment, horizonNs + 1)]).then(
      ([base, recent]): Timeline | undefined => {
        const events = base === undefined ? recent : [base, ...recent];
        if (events.length > maxEvents) return undefined;
        const t: Timeline = { fetchedNs, horizonNs, events };
        const kept = timelines.get(environment);
        // A local append since the queries began may be missing from them: use the answer once, keep nothing.
        if ((generations.get(environment) ?? 0) === generation && (kept === undefined || kept.fetchedNs < fetchedNs)) {
          // Re-inserted at the end, so the map's first key is the environment refreshed longest ago. Any client
          // may name a new environment in each batch: without a bound the map would grow with every name.
          timelines.delete(environment);
          timelines.set(environment, t);
          if (timelines.size > maxEnvironments) timelines.delete(timelines.keys().next().value as string);
        }
        return t;
      },
    );
    const entry = { fetchedNs, done };
    refreshing.set(environment, entry);
    const clear = (): void => {
      if (refreshing.get(environment) === entry) refreshing.delete(environment);
    };
    done.then(clear, clear);
    return entry;
  };

  const lookupNow: EventReader = async (environment, atNs) => {
    const nowNs = now();
    if (atNs === undefined || atNs > nowNs - marginNs || atNs < nowNs - windowNs) {
      stats.storeLookups++;
      const generation = generations.get(environment) ?? 0;
      const e = await point(environment, atNs);
      remember(environment, generation, Math.min(atNs ?? nowNs, nowNs), e);
      return e;
    }
    const kept = timelines.get(environment);
    if (covers(kept, atNs, nowNs)) {
      stats.hits++;
      return latestAtOrBefore(kept.events, atNs);
    }
    const pending = refreshing.get(environment);
    // A refresh begun late enough covers this reading; otherwise begin one (it covers it: atNs <= now - margin).
    const entry = pending !== undefined && atNs <= pending.fetchedNs - marginNs && atNs >= pending.fetchedNs - windowNs && nowNs - pending.fetchedNs <= maxAgeNs ? pending : refresh(environment);
    const t = await entry.done;
    if (t === undefined) {
      stats.storeLookups++;
      return point(environment, atNs);
    }
    return latestAtOrBefore(t.events, atNs);
  };

  const lookup: EventReader = (environment, atNs) => {
    const writes = appending.get(environment);
    if (writes === undefined) return lookupNow(environment, atNs);
    const waits: Array<Promise<void>> = [];
    for (const w of writes) if (atNs === undefined || w.timeNs <= atNs) waits.push(w.settled);
    if (waits.length === 0) return lookupNow(environment, atNs);
    return Promise.all(waits).then(() => lookupNow(environment, atNs));
  };

  const invalidate = (environment: string): void => {
    generations.set(environment, (generations.get(environment) ?? 0) + 1);
    timelines.delete(environment);
    lastAnswers.delete(environment);
    // A refresh begun before now may lack the event: later lookups must not join it.
    refreshing.delete(environment);
  };

  const append = async <T>(environment: string, timeNs: number, write: () => Promise<T>): Promise<T> => {
    let release = (): void => undefined;
    const entry: PendingAppend = { timeNs, settled: new Promise<void>((resolve) => (release = resolve)) };
    const list = appending.get(environment);
    if (list === undefined) appending.set(environment, [entry]);
    else list.push(entry);
    ownEvents.set(environment, Math.max(ownEvents.get(environment) ?? -Infinity, timeNs));
    invalidate(environment);
    try {
      return await write();
    } finally {
      invalidate(environment);
      const l = appending.get(environment) ?? [];
      const i = l.indexOf(entry);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) appending.delete(environment);
      release();
    }
  };

  const lastKnown = (environment: string, atNs?: number): { event: ScenarioEvent | undefined; asOfNs: number } | undefined => {
    const t = atNs ?? now();
    const kept = timelines.get(environment);
    const keptAsOfNs = kept === undefined ? -Infinity : kept.fetchedNs - marginNs;
    if (kept !== undefined && t >= kept.horizonNs && t <= keptAsOfNs) return { event: latestAtOrBefore(kept.events, t), asOfNs: keptAsOfNs };
    // Not when the kept timeline was read after it: it may hold events the answer lacks.
    const last = lastAnswers.get(environment);
    if (last !== undefined && t >= last.asOfNs && last.asOfNs >= keptAsOfNs) return { event: last.event, asOfNs: last.asOfNs };
    return undefined;
  };

  return { lookup, invalidate, append, lastKnown, stats };
}
