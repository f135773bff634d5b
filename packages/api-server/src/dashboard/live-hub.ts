import { EventEmitter } from 'node:events';
import type { LiveBacklog, LiveEnvironmentState, LivePowerMessage, LiveSessionMessage } from './live-messages.js';

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


export type { LiveBacklog, LiveEnvironmentState, LivePowerMessage, LiveSessionMessage } from './live-messages.js';

/** Events a subscriber receives. */
export type LiveEvent =
  | { type: 'power'; data: LivePowerMessage }
  | { type: 'session'; data: LiveSessionMessage };

/** Which events a subscriber wants. */
export interface LiveFilter {
  /** Only this environment; all environments when absent (then only session events are sent). */
  environment?: string;
}

/** Defaults of {@link createLiveHub}. */
export const DEFAULT_LIVE_HUB_OPTIONS = Object.freeze({
  /** Sensor name streamed as power (the original's `power`). */
  powerSensor: 'power',
  /** Unit streamed as power. */
  powerUnit: 'W',
  /** How far back the backlog reaches, in seconds. */
  backlogSeconds: 15 * 60,
  /** Most samples kept per equipment for the backlog (50 equipments at 1 Hz for 15 min fit). */
  backlogSamplesPerEquipment: 1800,
  /** Most environments tracked; the least recently active one is forgotten beyond this. */
  maxEnvironments: 200,
  /** Most equipments tracked per environment. */
  maxEquipmentsPerEnvironment: 500,
});

/** Options of {@link createLiveHub}. */
export interface LiveHubOptions {
  /** Sensor name streamed as power. */
  powerSensor?: string;
  /** Unit streamed as power. */
  powerUnit?: string;
  /** How far back the backlog reaches, in seconds. */
  backlogSeconds?: number;
  /** Most samples kept per equipment for the backlog. */
  backlogSamplesPerEquipment?: number;
  /** Most environments tracked (least recently active forgotten first). */
  maxEnvironments?: number;
  /** Most equipments tracked per environment. */
  maxEquipmentsPerEnvironment?: number;
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
  readonly powerSeries: { readonly sensor: string; readonly unit: string };
  /** Call after a scenario start, step change or stop was stored. */
  publishSession(event: LiveSessionInput): void;
  /** Registers a listener; returns the function that removes it. */
  subscribe(filter: LiveFilter, listener: (event: LiveEvent) => void): () => void;
  /** Recent power samples and state of an environment. */
  backlog(environment: string): LiveBacklog;
  /** Every environment seen since start, most recently active first. */
  environments(): LiveEnvironmentState[];
  /** Number of current subscribers. */
  readonly subscriberCount: number;
}

/** Fixed-size ring of `[timeNs, watts]` pairs; old samples are overwritten, no allocation per sample. */
class SampleRing {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private start = 0;
  private size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
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
  ring: SampleRing;
  scenario: string;
  step: string;
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
  const opts = { ...DEFAULT_LIVE_HUB_OPTIONS, ...options };
  const emitter = new EventEmitter();
  // Each dashboard tab is one listener; the default cap of 10 would only produce a spurious warning.
  emitter.setMaxListeners(0);
  const envs = new Map<string, EnvironmentTrack>();
  let clock = 0;
  let subscribers = 0;

  const track = (environment: string): EnvironmentTrack => {
    let env = envs.get(environment);
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
        if (oldest !== undefined) envs.delete(oldest);
      }
      env = { equipments: new Map(), touched: 0 };
      envs.set(environment, env);
    }
    env.touched = ++clock;
    return env;
  };

  const stateOf = (environment: string, env: EnvironmentTrack): LiveEnvironmentState => ({
    environment,
    ...(env.session === undefined ? {} : { session: env.session }),
    equipments: [...env.equipments.keys()],
    ...(env.lastSampleNs === undefined ? {} : { lastSampleNs: env.lastSampleNs }),
  });

  return {
    powerSeries: Object.freeze({ sensor: opts.powerSensor, unit: opts.powerUnit }),
    publishMeasurements(points) {
      // Group by (environment, equipment, scenario, step) so one batch becomes one message per equipment.
      const groups = new Map<string, LivePowerMessage>();
      for (const p of points) {
        if (p.sensor !== opts.powerSensor || p.unit !== opts.powerUnit || !Number.isFinite(p.value)) continue;
        const key = JSON.stringify([p.environment, p.equipment, p.scenario, p.step]);
        let msg = groups.get(key);
        if (msg === undefined) {
          msg = { environment: p.environment, equipment: p.equipment, scenario: p.scenario, step: p.step, samples: [] };
          groups.set(key, msg);
        }
        msg.samples.push([toNumber(p.timeNs), p.value]);
      }
      for (const msg of groups.values()) {
        const env = track(msg.environment);
        let eq = env.equipments.get(msg.equipment);
        if (eq === undefined) {
          if (env.equipments.size >= opts.maxEquipmentsPerEnvironment) continue;
          eq = { ring: new SampleRing(opts.backlogSamplesPerEquipment), scenario: msg.scenario, step: msg.step };
          env.equipments.set(msg.equipment, eq);
        }
        eq.scenario = msg.scenario;
        eq.step = msg.step;
        for (const [t, w] of msg.samples) {
          eq.ring.push(t, w);
          if (env.lastSampleNs === undefined || t > env.lastSampleNs) env.lastSampleNs = t;
        }
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
      track(event.environment).session = data;
      emitter.emit('event', { type: 'session', data } satisfies LiveEvent);
    },

    subscribe(filter, listener) {
      const wanted = (event: LiveEvent): void => {
        if (filter.environment === undefined) {
          if (event.type === 'session') listener(event);
        } else if (event.data.environment === filter.environment) {
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
      const env = envs.get(environment);
      if (env === undefined) return { state: { environment, equipments: [] }, power: [] };
      const fromNs = (env.lastSampleNs ?? 0) - opts.backlogSeconds * 1e9;
      const power: LivePowerMessage[] = [];
      for (const [equipment, eq] of env.equipments) {
        const samples = eq.ring.since(fromNs);
        if (samples.length > 0) power.push({ environment, equipment, scenario: eq.scenario, step: eq.step, samples });
      }
      return { state: stateOf(environment, env), power };
    },

    environments() {
      return [...envs.entries()].sort((a, b) => b[1].touched - a[1].touched).map(([name, env]) => stateOf(name, env));
    },

    get subscriberCount() {
      return subscribers;
    },
  };
}
