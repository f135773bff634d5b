import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { noopLogger, type Logger, type MqttSettings } from '@energyrecorder/core';
import { CONTROL } from './validation.js';

/** One message to republish. */
export interface RepublishMessage {
  topic: string;
  payload: string;
}

/** Options of {@link createMqttRepublisher}. */
export interface MqttRepublisherOptions {
  settings: MqttSettings;
  /** Messages kept while the broker is away; the oldest are dropped beyond it. */
  queueLimit?: number;
  logger?: Logger;
  /** When the warnings of a broker that stays away repeat; see {@link DEFAULT_MQTT_WARNING_REPEAT}. */
  warningRepeat?: Partial<WarningRepeat>;
}

/** Defaults of {@link MqttRepublisherOptions}. */
export const DEFAULT_MQTT_QUEUE_LIMIT = 10_000;

/** When a warning that keeps happening is logged again. */
export interface WarningRepeat {
  /** The second warning of a run is logged this long after the first; each later gap doubles. */
  firstRepeatMs: number;
  /** Longest gap between two logged warnings of a run. */
  maxRepeatMs: number;
}

/**
 * mqtt.js retries an absent broker every second and reports each failure: the first of a run is logged, then one
 * a minute later, two, four, ... and every 15 minutes from then on, each with the failures not logged since.
 */
export const DEFAULT_MQTT_WARNING_REPEAT: Readonly<WarningRepeat> = Object.freeze({ firstRepeatMs: 60_000, maxRepeatMs: 15 * 60_000 });

/** What {@link WarningThrottle.hit} decided for one failure. */
export interface ThrottleDecision {
  /** Log this one. */
  log: boolean;
  /** Failures of the run not logged since the last logged one (when `log`). */
  notLogged: number;
  /** Failures of the run so far, this one included. */
  failures: number;
}

/** Thins out a run of repeated failures; see {@link createWarningThrottle}. */
export interface WarningThrottle {
  hit(): ThrottleDecision;
  /** Ends the run (the broker answered); returns how many failures it had and how long it lasted, if any. */
  end(): { failures: number; durationMs: number } | undefined;
}

/**
 * The first failure of a run is logged at once; later ones are counted and one is logged when `firstRepeatMs` has
 * passed since the last logged one, the gap doubling up to `maxRepeatMs`.
 */
export function createWarningThrottle(repeat: WarningRepeat, now: () => number = Date.now): WarningThrottle {
  let failures = 0;
  let notLogged = 0;
  let startedMs = 0;
  let nextMs = 0;
  let gapMs = repeat.firstRepeatMs;
  return {
    hit() {
      const t = now();
      failures++;
      if (failures === 1) {
        startedMs = t;
        gapMs = repeat.firstRepeatMs;
        nextMs = t + gapMs;
        return { log: true, notLogged: 0, failures };
      }
      if (t < nextMs) {
        notLogged++;
        return { log: false, notLogged, failures };
      }
      const decision = { log: true, notLogged, failures };
      notLogged = 0;
      gapMs = Math.min(gapMs * 2, repeat.maxRepeatMs);
      nextMs = t + gapMs;
      return decision;
    },
    end() {
      if (failures === 0) return undefined;
      const run = { failures, durationMs: now() - startedMs };
      failures = 0;
      notLogged = 0;
      return run;
    },
  };
}

/** The shared MQTT client of the API. */
export interface MqttRepublisher {
  /** Hands messages over without waiting: sent now when connected, queued otherwise. */
  publish(messages: readonly RepublishMessage[]): void;
  readonly connected: boolean;
  readonly queueDepth: number;
  readonly published: number;
  readonly dropped: number;
  /** Sends what is queued if connected (bounded wait), then disconnects. */
  close(timeoutMs?: number): Promise<void>;
}

// Names are validated against CONTROL already; the topic is sanitised again so that no name, however it got
// here, can make the broker drop the connection.
const UNSAFE = new RegExp(`[+#/]|${CONTROL.source}`, 'gu');

/**
 * Replaces the characters a topic level cannot carry (`+ # /`, control characters, non-characters, lone
 * surrogates) with `_`.
 */
export function topicLevel(name: string): string {
  return name.replace(UNSAFE, '_');
}

/** `<base_path>/<env>/<equipement>/<sensor>`, as the original (an empty base path gives a leading `/`). */
export function measurementTopic(basePath: string, environment: string, equipment: string, sensor: string): string {
  return `${basePath}/${topicLevel(environment)}/${topicLevel(equipment)}/${topicLevel(sensor)}`;
}

/**
 * One reconnecting client for the whole process. Publishing never blocks the caller and never fails it: while
 * the broker is away messages wait in a bounded in-memory queue, replayed in order on reconnect.
 */
export function createMqttRepublisher(options: MqttRepublisherOptions): MqttRepublisher {
  const s = options.settings;
  const logger = options.logger ?? noopLogger;
  const limit = options.queueLimit ?? DEFAULT_MQTT_QUEUE_LIMIT;
  const queue: RepublishMessage[] = [];
  let published = 0;
  let dropped = 0;
  let draining = false;

  const clientOptions: IClientOptions = {
    host: s.host,
    port: s.port,
    protocol: s.tls ? 'mqtts' : 'mqtt',
    clientId: `energyrecorder-api-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    // Our own queue is bounded and observable; mqtt.js's offline queue is neither.
    queueQoSZero: false,
    rejectUnauthorized: s.verify_cert,
    ...(s.ca_file === undefined ? {} : { ca: readFileSync(s.ca_file) }),
    ...(s.user !== undefined && s.user !== '' ? { username: s.user, password: s.pass ?? '' } : {}),
  };
  const throttle = createWarningThrottle({ ...DEFAULT_MQTT_WARNING_REPEAT, ...options.warningRepeat });
  const client: MqttClient = mqtt.connect(clientOptions);
  client.on('connect', () => {
    const outage = throttle.end();
    logger.info(
      { host: s.host, port: s.port, queued: queue.length, ...(outage === undefined ? {} : { failedAttempts: outage.failures, outageMs: outage.durationMs }) },
      'MQTT connected',
    );
    drain();
  });
  client.on('offline', () => logger.warn({ host: s.host, port: s.port }, 'MQTT broker unreachable; queueing'));
  client.on('error', (err) => {
    const d = throttle.hit();
    if (!d.log) return;
    logger.warn(
      { err: err.message, host: s.host, port: s.port, failures: d.failures, ...(d.notLogged === 0 ? {} : { notLogged: d.notLogged }), queued: queue.length },
      d.failures === 1 ? 'MQTT error' : 'MQTT error (repeated; fewer warnings are logged while it lasts)',
    );
  });

  function enqueue(m: RepublishMessage): void {
    queue.push(m);
    while (queue.length > limit) {
      queue.shift();
      dropped++;
    }
  }

  function send(m: RepublishMessage): void {
    client.publish(m.topic, m.payload, { qos: s.qos, retain: false }, (err) => {
      if (err === undefined || err === null) {
        published++;
        return;
      }
      enqueue(m);
    });
  }

  function drain(): void {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && client.connected) {
        const m = queue.shift() as RepublishMessage;
        send(m);
      }
    } finally {
      draining = false;
    }
  }

  return {
    publish(messages) {
      for (const m of messages) {
        if (client.connected && queue.length === 0) send(m);
        else enqueue(m);
      }
      if (client.connected) drain();
    },
    get connected() {
      return client.connected;
    },
    get queueDepth() {
      return queue.length;
    },
    get published() {
      return published;
    },
    get dropped() {
      return dropped;
    },
    async close(timeoutMs = 2000) {
      if (client.connected) drain();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          client.end(true, {}, () => resolve());
        }, timeoutMs);
        client.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
