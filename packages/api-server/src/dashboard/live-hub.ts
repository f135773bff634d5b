import { EventEmitter } from 'node:events';
import type {
  LiveBacklog,
  LiveEnvironmentsMessage,
  LiveEnvironmentState,
  LivePowerMessage,
  LiveSessionMessage,
} from './live-messages.js';
import { WATTS_PER_UNIT } from '../internal/power-units.js';

/**
 * One stored reading as the live hub needs it. The store's `StoredMeasurement` fits this shape, so the ingest
 * route can hand its batch over as is.
 */
export interface LiveMeasurementInput {
  equipment: string;
  environment: string;
  scenario: string;
  step: string;
  sensor: string;
  unit: string;
  /** In `unit`; power in one of the hub's power units is converted to watts. */
  value: number;
  /** ns since the epoch; bigint as the store keeps it, or a number. */
  timeNs: bigint | number;
}

/** One scenario change as the live hub needs it (the store's `ScenarioEvent` fits this shape). */
export interface LiveSessionInput {
  environment: string;
  scenario: string;
  step: string;
  /** `true` for a start or a step change, `false` for a stop. */
  started: boolean;
  /** ns since the epoch. */
  timeNs: bigint | number;
}

export type {
  LiveBacklog,
  LiveEnvironmentsMessage,
  LiveEnvironmentState,
  LivePowerMessage,
  LiveSessionMessage,
} from './live-messages.js';

/** Events a subscriber receives. */
export type LiveEvent =
  | { type: 'power'; data: LivePowerMessage }
  | { type: 'session'; data: LiveSessionMessage }
  | { type: 'environments'; data: LiveEnvironmentsMessage };

/** Which events a subscriber wants. */
export interface LiveFilter {
  /**
   * Only this environment (its `power` and `session` events); all environments when absent (then only `session`
   * events and an `environments` event for each environment when it first sends data).
   */
  environment?: string;
}

/** Defaults of {@link createLiveHub}. */
export const DEFAULT_LIVE_HUB_OPTIONS = Object.freeze({
  /** Sensor name streamed as power (the original's `power`). */
  powerSensor: 'power',
  /** Units streamed as power, with their value in watts: those the report integrates. Samples are sent in W. */
  powerUnits: WATTS_PER_UNIT,
  /** How far back the backlog reaches, in seconds, from each equipment's newest sample (at most from now). */
  backlogSeconds: 15 * 60,
  /**
   * Most samples kept per equipment for the backlog (1 Hz for 15 min fit). An equipment's ring starts at 16 and
   * doubles as it fills, so one that sent a single reading costs 16 samples, not this many.
   */
  backlogSamplesPerEquipment: 1800,
  /**
   * Most samples kept by the whole hub (16 bytes each: 32 MiB), counted as the rings' allocated capacity. Beyond
   * it the least recently active equipment of any environment is forgotten.
   */
  maxSamples: 2_000_000,
  /** Most environments tracked; the least recently active one is forgotten beyond this. */
  maxEnvironments: 200,
  /** Most equipments tracked per environment; its least recently active one is forgotten beyond this. */
  maxEquipmentsPerEnvironment: 500,
  /**
   * Samples more than this many seconds ahead of the server's clock are neither kept nor streamed (they are stored
   * and reported as usual): one reading from a meter with a wrong clock must not push the live window away.
   */
  futureToleranceSeconds: 300,
});

/** Options of {@link createLiveHub}. */
export interface LiveHubOptions {
  /** Sensor name streamed as power. */
  powerSensor?: string;
  /** Units streamed as power, each with its value in watts. */
  powerUnits?: Readonly<Record<string, number>>;
  /** How far back the backlog reaches, in seconds. */
  backlogSeconds?: number;
  /** Most samples kept per equipment for the backlog. */
  backlogSamplesPerEquipment?: number;
  /** Most samples kept by the whole hub (least recently active equipment forgotten first). */
  maxSamples?: number;
  /** Most environments tracked (least recently active forgotten first). */
  maxEnvironments?: number;
  /** Most equipments tracked per environment (least recently active forgotten first). */
  maxEquipmentsPerEnvironment?: number;
  /** Samples further ahead of now than this (seconds) are not kept or streamed. */
  futureToleranceSeconds?: number;
  /** The clock, in ms since the epoch (tests); `Date.now` by default. */
  now?: () => number;
}

/** What the hub holds, for monitoring and tests. */
export interface LiveHubStats {
  environments: number;
  equipments: number;
  /** Samples held. */
  samples: number;
  /** Samples the rings have room for (what their memory is sized by). */
  capacitySamples: number;
  /** Bytes of the rings' arrays. */
  retainedBytes: number;
}

/**
 * The typed event hook between the API's write paths and the live dashboard. The ingest and session routes call
 * `publish*` after a successful store write, so only acknowledged data is streamed. It keeps a bounded backlog in
 * memory, per process: with several API processes, each dashboard sees what its own process ingested.
 */
export interface LiveHub {
  /** Call after a measurement batch was stored. Non-power readings are ignored. */
  publishMeasurements(points: readonly LiveMeasurementInput[]): void;
  /** The series streamed as power: other readings given to {@link publishMeasurements} are ignored. */
  readonly powerSeries: { readonly sensor: string; readonly units: readonly string[] };
  /** Call after a scenario start, step change or stop was stored. */
  publishSession(event: LiveSessionInput): void;
  /** Registers a listener; returns the function that removes it. */
  subscribe(filter: LiveFilter, listener: (event: LiveEvent) => void): () => void;
  /** Recent power samples and state of an environment. */
  backlog(environment: string): LiveBacklog;
  /** Every environment seen since start (and not forgotten), most recently active first. */
  environments(): LiveEnvironmentState[];
  /** What the hub holds in memory. */
  stats(): LiveHubStats;
  /** Number of current subscribers. */
  readonly subscriberCount: number;
}

/** First capacity of a ring; it doubles up to `backlogSamplesPerEquipment` as the equipment keeps sending. */
const INITIAL_RING_CAPACITY = 16;

/** Ring of `[timeNs, watts]` pairs that grows by doubling; when full, old samples are overwritten. */
class SampleRing {
  private times: Float64Array;
  private values: Float64Array;
  private start = 0;
  size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  get capacity(): number {
    return this.times.length;
  }

  /** Moves the samples into arrays of `capacity` (larger than now), oldest first. */
  grow(capacity: number): void {
    const times = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    const cap = this.times.length;
    for (let i = 0; i < this.size; i++) {
      const idx = (this.start + i) % cap;
      times[i] = this.times[idx] as number;
      values[i] = this.values[idx] as number;
    }
    this.times = times;
    this.values = values;
    this.start = 0;
  }

  push(timeNs: number, watts: number): void {
    const cap = this.times.length;
    const idx = (this.start + this.size) % cap;
    this.times[idx] = timeNs;
    this.values[idx] = watts;
    if (this.size < cap) this.size++;
    else this.start = (this.start + 1) % cap;
  }

  since(fromNs: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const cap = this.times.length;
    for (let i = 0; i < this.size; i++) {
      const idx = (this.start + i) % cap;
      const t = this.times[idx] as number;
      if (t >= fromNs) out.push([t, this.values[idx] as number]);
    }
    return out;
  }
}

interface EquipmentTrack {
  environment: string;
  equipment: string;
  /** Key in the hub-wide recency order. */
  key: string;
  ring: SampleRing;
  scenario: string;
  step: string;
  /** ns of the newest sample kept. */
  newestNs: number;
  touched: number;
}

interface EnvironmentTrack {
  session?: LiveSessionMessage;
  equipments: Map<string, EquipmentTrack>;
  lastSampleNs?: number;
  touched: number;
}

const toNumber = (t: bigint | number): number => (typeof t === 'bigint' ? Number(t) : t);

/** Creates a {@link LiveHub}. */
export function createLiveHub(options: LiveHubOptions = {}): LiveHub {
  const { now = Date.now, ...rest } = options;
  const opts = { ...DEFAULT_LIVE_HUB_OPTIONS, ...rest };
  const ringMax = Math.max(1, Math.floor(opts.backlogSamplesPerEquipment));
  const ringFirst = Math.min(INITIAL_RING_CAPACITY, ringMax);
  const maxSamples = Math.max(ringMax, Math.floor(opts.maxSamples));
  const emitter = new EventEmitter();
  // Each dashboard tab is one listener; the default cap of 10 would only produce a spurious warning.
  emitter.setMaxListeners(0);
  const envs = new Map<string, EnvironmentTrack>();
  // Every tracked equipment, least recently active first (a touched one is moved to the end).
  const recency = new Map<string, EquipmentTrack>();
  let allocated = 0;
  let clock = 0;
  let subscribers = 0;

  const forgetEquipment = (eq: EquipmentTrack): void => {
    envs.get(eq.environment)?.equipments.delete(eq.equipment);
    recency.delete(eq.key);
    allocated -= eq.ring.capacity;
  };

  /** Forgets the least recently active equipments (not `keep`) until `extra` samples fit; false if they cannot. */
  const makeRoom = (extra: number, keep: EquipmentTrack | undefined): boolean => {
    while (allocated + extra > maxSamples) {
      let victim: EquipmentTrack | undefined;
      for (const eq of recency.values()) {
        if (eq !== keep) {
          victim = eq;
          break;
        }
      }
      if (victim === undefined) return false;
      forgetEquipment(victim);
    }
    return true;
  };

  const track = (environment: string): { env: EnvironmentTrack; isNew: boolean } => {
    let env = envs.get(environment);
    const isNew = env === undefined;
    if (env === undefined) {
      if (envs.size >= opts.maxEnvironments) {
        let oldest: string | undefined;
        let oldestTouch = Number.POSITIVE_INFINITY;
        for (const [name, e] of envs) {
          if (e.touched < oldestTouch) {
            oldestTouch = e.touched;
            oldest = name;
          }
        }
        const gone = oldest === undefined ? undefined : envs.get(oldest);
        if (gone !== undefined) for (const eq of [...gone.equipments.values()]) forgetEquipment(eq);
        if (oldest !== undefined) envs.delete(oldest);
      }
      env = { equipments: new Map(), touched: 0 };
      envs.set(environment, env);
    }
    env.touched = ++clock;
    return { env, isNew };
  };

  const equipmentOf = (environment: string, env: EnvironmentTrack, msg: LivePowerMessage): EquipmentTrack => {
    let eq = env.equipments.get(msg.equipment);
    if (eq === undefined) {
      if (env.equipments.size >= opts.maxEquipmentsPerEnvironment) {
        let oldest: EquipmentTrack | undefined;
        for (const e of env.equipments.values()) if (oldest === undefined || e.touched < oldest.touched) oldest = e;
        if (oldest !== undefined) forgetEquipment(oldest);
      }
      makeRoom(ringFirst, undefined);
      eq = {
        environment,
        equipment: msg.equipment,
        key: JSON.stringify([environment, msg.equipment]),
        ring: new SampleRing(ringFirst),
        scenario: msg.scenario,
        step: msg.step,
        newestNs: Number.NEGATIVE_INFINITY,
        touched: 0,
      };
      allocated += ringFirst;
      env.equipments.set(msg.equipment, eq);
    }
    eq.touched = ++clock;
    recency.delete(eq.key);
    recency.set(eq.key, eq);
    return eq;
  };

  const push = (eq: EquipmentTrack, t: number, w: number): void => {
    const ring = eq.ring;
    if (ring.size === ring.capacity && ring.capacity < ringMax) {
      const next = Math.min(ringMax, ring.capacity * 2);
      if (makeRoom(next - ring.capacity, eq)) {
        allocated += next - ring.capacity;
        ring.grow(next);
      }
    }
    ring.push(t, w);
  };

  const stateOf = (environment: string, env: EnvironmentTrack): LiveEnvironmentState => ({
    environment,
    ...(env.session === undefined ? {} : { session: env.session }),
    equipments: [...env.equipments.keys()],
    ...(env.lastSampleNs === undefined ? {} : { lastSampleNs: env.lastSampleNs }),
  });

  const announce = (environment: string, env: EnvironmentTrack): void => {
    emitter.emit('event', { type: 'environments', data: { environments: [stateOf(environment, env)] } } satisfies LiveEvent);
  };

  return {
    powerSeries: Object.freeze({ sensor: opts.powerSensor, units: Object.freeze(Object.keys(opts.powerUnits)) }),
    publishMeasurements(points) {
      const latestNs = now() * 1e6 + opts.futureToleranceSeconds * 1e9;
      // Group by (environment, equipment, scenario, step) so one batch becomes one message per equipment.
      const groups = new Map<string, LivePowerMessage>();
      for (const p of points) {
        if (p.sensor !== opts.powerSensor) continue;
        const scale = Object.hasOwn(opts.powerUnits, p.unit) ? opts.powerUnits[p.unit] : undefined;
        if (scale === undefined || !Number.isFinite(p.value)) continue;
        const t = toNumber(p.timeNs);
        if (!(t <= latestNs)) continue;
        const key = JSON.stringify([p.environment, p.equipment, p.scenario, p.step]);
        let msg = groups.get(key);
        if (msg === undefined) {
          msg = { environment: p.environment, equipment: p.equipment, scenario: p.scenario, step: p.step, samples: [] };
          groups.set(key, msg);
        }
        msg.samples.push([t, p.value * scale]);
      }
      for (const msg of groups.values()) {
        const { env, isNew } = track(msg.environment);
        const eq = equipmentOf(msg.environment, env, msg);
        eq.scenario = msg.scenario;
        eq.step = msg.step;
        for (const [t, w] of msg.samples) {
          push(eq, t, w);
          if (t > eq.newestNs) eq.newestNs = t;
          if (env.lastSampleNs === undefined || t > env.lastSampleNs) env.lastSampleNs = t;
        }
        if (isNew) announce(msg.environment, env);
        emitter.emit('event', { type: 'power', data: msg } satisfies LiveEvent);
      }
    },

    publishSession(event) {
      const data: LiveSessionMessage = {
        environment: event.environment,
        scenario: event.scenario,
        step: event.step,
        started: event.started,
        timeNs: toNumber(event.timeNs),
      };
      // A new environment is announced by this session event itself.
      track(event.environment).env.session = data;
      emitter.emit('event', { type: 'session', data } satisfies LiveEvent);
    },

    subscribe(filter, listener) {
      const wanted = (event: LiveEvent): void => {
        if (filter.environment === undefined) {
          if (event.type !== 'power') listener(event);
        } else if (event.type !== 'environments' && event.data.environment === filter.environment) {
          listener(event);
        }
      };
      emitter.on('event', wanted);
      subscribers++;
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        subscribers--;
        emitter.off('event', wanted);
      };
    },

    backlog(environment) {
      const nowNs = now() * 1e6;
      const env = envs.get(environment);
      if (env === undefined) return { state: { environment, equipments: [] }, power: [], nowNs };
      const power: LivePowerMessage[] = [];
      for (const [equipment, eq] of env.equipments) {
        // Per equipment and never from a time ahead of now: a meter with a fast clock cannot cut the others'.
        const fromNs = Math.min(eq.newestNs, nowNs) - opts.backlogSeconds * 1e9;
        const samples = eq.ring.since(fromNs);
        if (samples.length > 0) power.push({ environment, equipment, scenario: eq.scenario, step: eq.step, samples });
      }
      return { state: stateOf(environment, env), power, nowNs };
    },

    environments() {
      return [...envs.entries()].sort((a, b) => b[1].touched - a[1].touched).map(([name, env]) => stateOf(name, env));
    },

    stats() {
      let samples = 0;
      for (const eq of recency.values()) samples += eq.ring.size;
      return {
        environments: envs.size,
        equipments: recency.size,
        samples,
        capacitySamples: allocated,
        retainedBytes: allocated * 16,
      };
    },

    get subscriberCount() {
      return subscribers;
    },
  };
}
