import type { PowerSample, Topology } from '@energyrecorder/core';
import type { WriteQueueStatus } from './internal/write-queue.js';

/** One change of the scenario state of an environment (the original's `RunningScenarios` point). */
export interface ScenarioEvent {
  environment: string;
  scenario: string;
  step: string;
  /** `true` for start and step changes, `false` for stop (the original's `started` 1/0). */
  started: boolean;
  /** When it happened, ns since the epoch. */
  timeNs: number;
}

/** One reading as stored: the original's `SensorMeasurement` point. */
export interface StoredMeasurement {
  equipment: string;
  environment: string;
  scenario: string;
  step: string;
  topology?: Topology;
  sensor: string;
  unit: string;
  value: number;
  /** Exact ns timestamp (bigint, so de-duplication offsets of 1 ns survive). */
  timeNs: bigint;
}

/** One reading of a {@link MeasurementBatch}. */
export interface StoredReading {
  sensor: string;
  unit: string;
  value: number;
  /**
   * Exact ns timestamp. A number when it is the client's own value (doubles hold every epoch-ns integer JSON
   * could give us), a bigint when a de-duplication offset of a few ns was added to it.
   */
  timeNs: number | bigint;
}

/**
 * Readings of one equipment that share their tags apart from sensor and unit: what one ingest request stores.
 * Stores encode the shared part once per batch rather than once per reading.
 */
export interface MeasurementBatch {
  equipment: string;
  environment: string;
  scenario: string;
  step: string;
  topology?: Topology;
  readings: readonly StoredReading[];
  /**
   * The legacy `/servers/{server}/consumption` also wrote a `PowerMeasurement` point (tags `hardware`,
   * `environment`, `scenario`, `step`; field `power`) at the time of the first reading (seed-behaviour §1.4).
   * Stores without that measurement (the embedded one) ignore it: the reading carries the same value.
   */
  legacyPower?: number;
  /**
   * The ingest fast path's encoder (set when the API scanned the body as bytes): the readings' line-protocol
   * lines, `<head>,sensor=<s><mid>,unit=<u><tail> value=<v> <time>\n` each, given the encoded tag parts before
   * `sensor`, between `sensor` and `unit` and after `unit`: the lines encoding `readings` would give, with values
   * spelt as the client sent them (the same doubles once parsed).
   * Stores that write line protocol and set {@link Store.encodesLines} use it rather than reading `readings`.
   */
  encodeLines?(head: Uint8Array, mid: Uint8Array, tail: Uint8Array): EncodedLines;
}

/** Line-protocol lines ready to be written into a caller's buffer (see {@link MeasurementBatch.encodeLines}). */
export interface EncodedLines {
  /** Most bytes {@link writeTo} may write. */
  readonly maxBytes: number;
  /** Writes the lines into `out` from `offset` (at least {@link maxBytes} free); returns the end offset. */
  writeTo(out: Buffer, offset: number): number;
}

/** A power sample of one equipment, as the report needs it. */
export interface EquipmentSample extends PowerSample {
  equipment: string;
}

/** Which samples {@link Store.queryPower} returns. */
export interface PowerQuery {
  environment: string;
  sensor: string;
  unit: string;
  fromNs: number;
  toNs: number;
}

/**
 * Where sessions and measurements live. Every method either completes durably or throws: a
 * `StoreUnavailableError` when trying again later may work, a `StoreError` otherwise. Implementations keep no
 * scenario state in memory, so several API processes can share one store.
 */
export interface Store {
  /** Short name for logs and metrics, e.g. `influx` or `sqlite`. */
  readonly kind: string;
  /** True when {@link writeBatch} uses {@link MeasurementBatch.encodeLines} when given (InfluxDB line protocol). */
  readonly encodesLines?: boolean;
  /**
   * Opens what the store keeps locally (the InfluxDB store's write queue); a failure here is fatal, unlike
   * {@link init}'s (a database down at start).
   */
  open?(): Promise<void>;
  /** The local write queue's state, when the store has one (for metrics). */
  readonly queue?: WriteQueueStatus | undefined;
  /** Creates the database, tables or retention policies when missing. */
  init(signal?: AbortSignal): Promise<void>;
  /** Throws when the store cannot be reached. */
  ping(signal?: AbortSignal): Promise<void>;
  /** Appends a scenario event. */
  appendEvent(event: ScenarioEvent, signal?: AbortSignal): Promise<void>;
  /** The latest event of `environment` at or before `atNs` (latest overall when absent). */
  lastEvent(environment: string, atNs?: number, signal?: AbortSignal): Promise<ScenarioEvent | undefined>;
  /** Every event of `environment` in time order (oldest first), optionally from `sinceNs`. */
  listEvents(environment: string, sinceNs?: number, signal?: AbortSignal): Promise<ScenarioEvent[]>;
  /** Writes points atomically; a point with the same series and time replaces the old one. */
  writeMeasurements(points: readonly StoredMeasurement[], signal?: AbortSignal): Promise<void>;
  /**
   * Writes one batch atomically, the ingest path. It may be committed together with batches of concurrent
   * requests (group commit), but resolves only once its own readings are durably stored.
   */
  writeBatch(batch: MeasurementBatch, signal?: AbortSignal): Promise<void>;
  /**
   * The oldest reading time the store keeps as of `nowNs` (its retention), or `undefined` when it keeps
   * everything. Older readings would be dropped at once, so the API refuses them with a 400 naming each one.
   */
  retentionCutoffNs?(nowNs: number): number | undefined;
  /** Power samples of every equipment of an environment in `[fromNs, toNs]`, in time order per equipment. */
  queryPower(query: PowerQuery, signal?: AbortSignal): Promise<EquipmentSample[]>;
  /** Releases connections and file handles. */
  close(): Promise<void>;
}
