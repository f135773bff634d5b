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
}

/** Defaults of {@link MqttRepublisherOptions}. */
export const DEFAULT_MQTT_QUEUE_LIMIT = 10_000;

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
  const client: MqttClient = mqtt.connect(clientOptions);
  client.on('connect', () => {
    logger.info({ host: s.host, port: s.port, queued: queue.length }, 'MQTT connected');
    drain();
  });
  client.on('offline', () => logger.warn({ host: s.host, port: s.port }, 'MQTT broker unreachable; queueing'));
  client.on('error', (err) => logger.warn({ err: err.message }, 'MQTT error'));

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
