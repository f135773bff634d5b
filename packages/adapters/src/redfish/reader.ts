import { AdapterError, HttpStatusError, noopLogger, type Logger, type Reading } from '@energyrecorder/core';
import { HTTP_ERROR_CODES } from '../internal/http.js';
import {
  childrenOf,
  collectionCount,
  collectionNextLink,
  isPowerSupplyActive,
  normaliseUri,
  parseChassis,
  parseCollection,
  parseEnvironmentMetrics,
  parsePowerControl,
  parseThermal,
  parseThermalMetrics,
  pickPowerSensors,
  POWER_SOURCES,
  powerSuppliesLink,
  powerSupplyMetricsLink,
  sumPowerSupplyMetrics,
  thermalMetricsLink,
  topLevelChassis,
  type ChassisInfo,
  type PowerSource,
  type SourceOutcome,
} from './parsers.js';
import { errorMessage } from '../internal/device-support.js';

/** Where the reader gets resources from: the HTTP session in production, a fixture map in unit tests. */
export interface ResourceSource {
  /** The parsed JSON at `path`; throws an `AdapterError` (404 as an `HttpStatusError` cause) otherwise. */
  get(path: string, signal: AbortSignal): Promise<unknown>;
}

/** Options of {@link RedfishReader}. */
export interface RedfishReaderOptions {
  power: boolean;
  temperature: boolean;
  /** Path prefix of the service (`''` normally; set when one server hosts many devices). */
  basePath: string;
  /** Builds errors for this device. */
  makeError: (message: string, code: string, cause?: unknown) => AdapterError;
  logger?: Logger;
  /** Clock in ms (default `Date.now`); tests pass their own to step past {@link REDISCOVER_MS}. */
  now?: () => number;
}

/**
 * How long a discovery is trusted. Chassis, the sources that answered 404 (not asked meanwhile), the power
 * supply list and a Thermal resource found gone are all read again after this, so that one 404 of a BMC's web
 * service restarting costs at most this long, and a chassis or supply added later is found. One discovery is the
 * chassis collection plus one GET per chassis.
 */
export const REDISCOVER_MS = 5 * 60_000;

/** Pages of one collection followed through `Members@odata.nextLink` at most. */
export const MAX_COLLECTION_PAGES = 50;

type ChassisPower =
  | { kind: 'ok'; watts: number; source: string; energyKWh?: number }
  // No source has a power value: the chassis is not metered (an enclosure counts its contained chassis instead).
  | { kind: 'none'; reasons: string[] }
  // A source carries the power value but it is null this poll: the device total is unknown, not lower.
  | { kind: 'unknown'; reasons: string[] }
  | { kind: 'error'; reasons: string[]; cause: unknown };

/** The power supplies of one chassis' PowerSubsystem, as last listed. */
interface SupplyList {
  /** Active supplies and their `Metrics`. */
  active: { uri: string; metrics: string }[];
  /** Supplies that were not active (absent, off): looked at again every poll, to count one from when it is back. */
  inactive: string[];
  /** Active supplies that link no `Metrics`: their input power is unknown, so the supplies' sum is no chassis total. */
  unmetered: string[];
}

function isNotFound(err: unknown): boolean {
  return err instanceof AdapterError && err.cause instanceof HttpStatusError && (err.cause.status === 404 || err.cause.status === 405);
}

/** A failure of the device or the link (not of one resource's content): falling back would hide it. */
function isTransportFailure(err: unknown): boolean {
  return !(err instanceof AdapterError) || err.code !== HTTP_ERROR_CODES.payload;
}

/**
 * Walks a Redfish service: discovers chassis (again after a failure, and every {@link REDISCOVER_MS}), then on
 * every read gets power per chassis down the source chain and temperatures, and folds them into device readings
 * without counting a contained chassis twice.
 */
export class RedfishReader {
  private readonly source: ResourceSource;
  private readonly opts: RedfishReaderOptions;
  private readonly logger: Logger;
  private chassis: ChassisInfo[] = [];
  private stale = true;
  // Chassis the last discovery could not read: while any is missing, the device total would be too low.
  private unreadable: string[] = [];
  private memberCount = 0;
  private discoveredAt = 0;
  private readonly now: () => number;
  // Sources that answered 404 are not asked again until the next discovery (at most REDISCOVER_MS away).
  private readonly absent = new Map<string, Set<PowerSource>>();
  // Sources that gave a value at least once (by chassis): one of these answering 404 is a blip (a BMC web service
  // restarting), asked again next poll rather than remembered as absent.
  private readonly served = new Map<string, Set<PowerSource>>();
  private readonly supplies = new Map<string, SupplyList>();
  private readonly thermalGone = new Set<string>();

  constructor(source: ResourceSource, options: RedfishReaderOptions) {
    this.source = source;
    this.opts = options;
    this.logger = options.logger ?? noopLogger;
    this.now = options.now ?? (() => Date.now());
  }

  /** The chassis found by the last discovery. */
  get knownChassis(): readonly ChassisInfo[] {
    return this.chassis;
  }

  /** Finds the chassis collection and reads every chassis' links. */
  async discover(signal: AbortSignal): Promise<void> {
    // The Redfish spec fixes the collection at /redfish/v1/Chassis (DSP0266 "Resource URI patterns"), so it is
    // asked for first: one request less per discovery, which counts when a collector (re)discovers a thousand
    // devices at once. The service root is read only when that path is missing, for services that put it
    // elsewhere; the original's USB-meter bridge has no service root, but the conventional path works there.
    const conventional = `${this.opts.basePath}/redfish/v1/Chassis/`;
    let collectionPath = conventional;
    let collection: unknown;
    try {
      collection = await this.source.get(conventional, signal);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const root = await this.source.get(`${this.opts.basePath}/redfish/v1/`, signal);
      const link = (root as { Chassis?: { '@odata.id'?: unknown } } | null)?.Chassis?.['@odata.id'];
      if (typeof link !== 'string' || normaliseUri(link) === normaliseUri(conventional)) throw err;
      collectionPath = link;
      collection = await this.source.get(collectionPath, signal);
    }
    const members = await this.collectionMembers(collectionPath, collection, signal);
    if (members === undefined) {
      throw this.opts.makeError(`${collectionPath}: Members is not an array`, HTTP_ERROR_CODES.payload);
    }
    const found: ChassisInfo[] = [];
    const failures: { uri: string; err: unknown }[] = [];
    await Promise.all(
      members.map(async (uri) => {
        try {
          found.push(parseChassis(await this.source.get(uri, signal), uri));
        } catch (err) {
          if (signal.aborted) throw err;
          failures.push({ uri, err });
        }
      }),
    );
    const failureText = failures.map((f) => `${f.uri}: ${errorMessage(f.err)}`);
    if (found.length === 0 && failures.length > 0) {
      const first = failures[0]?.err;
      // A device that is down as a whole says so with its own error (timeout, 503 with Retry-After, refused login).
      if (first instanceof AdapterError && isTransportFailure(first) && failures.length === members.length) throw first;
      throw this.opts.makeError(`no chassis could be read: ${failureText.join('; ')}`, HTTP_ERROR_CODES.http, first);
    }
    if (failures.length > 0) this.logger.warn({ failures: failureText }, 'some chassis could not be read; retrying next poll');
    this.unreadable = failureText;
    this.memberCount = members.length;
    const order = new Map(members.map((m, i) => [m, i]));
    found.sort((a, b) => (order.get(a.uri) ?? 0) - (order.get(b.uri) ?? 0));
    this.chassis = found;
    this.absent.clear();
    this.supplies.clear();
    this.thermalGone.clear();
    this.discoveredAt = this.now();
    this.stale = failures.length > 0 || found.length === 0;
  }

  /**
   * Every member of a collection whose first page is `first`, following `Members@odata.nextLink` (on this device:
   * the source reads an absolute link's path only) for at most {@link MAX_COLLECTION_PAGES} pages. Warns when
   * `Members@odata.count` disagrees with what was read. Undefined when the first page's `Members` is not an array.
   */
  private async collectionMembers(uri: string, first: unknown, signal: AbortSignal): Promise<string[] | undefined> {
    const firstMembers = parseCollection(first);
    if (firstMembers === undefined) return undefined;
    let next = collectionNextLink(first);
    if (next === undefined && collectionCount(first) === undefined) return firstMembers;
    const members = new Set(firstMembers);
    const seen = new Set([normaliseUri(uri)]);
    let pages = 1;
    while (next !== undefined) {
      const page = normaliseUri(next);
      if (seen.has(page)) {
        this.logger.warn({ collection: uri, nextLink: next }, 'collection nextLink loops back to a page already read; stopping there');
        break;
      }
      if (pages >= MAX_COLLECTION_PAGES) {
        this.logger.warn({ collection: uri, pages }, `collection has more than ${MAX_COLLECTION_PAGES} pages; reading only those`);
        break;
      }
      seen.add(page);
      const body = await this.source.get(next, signal);
      const more = parseCollection(body);
      if (more === undefined) throw this.opts.makeError(`${next}: Members is not an array`, HTTP_ERROR_CODES.payload);
      for (const m of more) members.add(m);
      pages += 1;
      next = collectionNextLink(body);
    }
    const count = collectionCount(first);
    if (count !== undefined && count !== members.size) {
      this.logger.warn(
        { collection: uri, 'Members@odata.count': count, read: members.size, pages },
        'collection Members@odata.count disagrees with the members read',
      );
    }
    return [...members];
  }

  /** Reads every enabled sensor. `timestampNs` is stamped on each reading. */
  async read(signal: AbortSignal, timestampNs: number): Promise<Reading[]> {
    if (this.stale || this.chassis.length === 0 || this.now() - this.discoveredAt >= REDISCOVER_MS) await this.discover(signal);
    const chassis = this.chassis;
    const [powers, temps] = await Promise.all([
      this.opts.power ? Promise.all(chassis.map((c) => this.chassisPower(c, signal))) : Promise.resolve([]),
      this.opts.temperature ? Promise.all(chassis.map((c) => this.chassisTemperatures(c, signal, timestampNs))) : Promise.resolve([]),
    ]);
    const readings: Reading[] = [];
    const problems: string[] = [];
    let firstCause: unknown;
    if (this.opts.power) {
      const byUri = new Map<string, ChassisPower>();
      chassis.forEach((c, i) => byUri.set(c.uri, powers[i] ?? { kind: 'none', reasons: [] }));
      for (const c of chassis) {
        const p = byUri.get(c.uri);
        if (p?.kind === 'error') {
          problems.push(`chassis ${c.id}: ${p.reasons.join('; ')}`);
          firstCause ??= p.cause;
          this.stale = true;
        } else if (p?.kind === 'unknown') {
          problems.push(`chassis ${c.id} has no power value this poll: ${p.reasons.join('; ')}`);
        }
      }
      for (const u of this.unreadable) problems.push(`chassis ${u}`);
      const total: ChassisPower =
        this.unreadable.length > 0
          ? { kind: 'error', reasons: this.unreadable, cause: undefined }
          : this.deviceTotal(chassis, byUri);
      if (total.kind === 'ok') {
        readings.push({ sensor: 'power', unit: 'W', value: total.watts, timestampNs, source: total.source });
        if (total.energyKWh !== undefined) {
          readings.push({ sensor: 'energy', unit: 'kWh', value: total.energyKWh, timestampNs, source: total.source });
        }
      }
      if (this.memberCount > 1) {
        for (const c of chassis) {
          const p = byUri.get(c.uri);
          if (p?.kind !== 'ok') continue;
          readings.push({ sensor: `${c.id}/power`, unit: 'W', value: p.watts, timestampNs, source: p.source });
          if (p.energyKWh !== undefined) {
            readings.push({ sensor: `${c.id}/energy`, unit: 'kWh', value: p.energyKWh, timestampNs, source: p.source });
          }
        }
      }
      if (total.kind === 'none' && problems.length === 0) {
        problems.push(`no chassis reports power (${total.reasons.join('; ') || 'no chassis'})`);
      }
    }
    temps.forEach((t, i) => {
      if (Array.isArray(t)) {
        readings.push(...t);
        return;
      }
      problems.push(`chassis ${chassis[i]?.id ?? i} temperatures: ${errorMessage(t.error)}`);
      firstCause ??= t.error;
    });
    if (problems.length > 0) {
      if (readings.length === 0) {
        // The device or link failed as a whole (timeout, 503, refused login): report that error itself.
        if (firstCause instanceof AdapterError && isTransportFailure(firstCause)) throw firstCause;
        throw this.opts.makeError(problems.join(' | '), HTTP_ERROR_CODES.payload, firstCause);
      }
      this.logger.warn({ problems }, 'partial read: some chassis gave no power');
    }
    return readings;
  }

  /** Sum over top-level chassis; a top-level chassis without its own power counts its children instead. */
  private deviceTotal(chassis: readonly ChassisInfo[], byUri: ReadonlyMap<string, ChassisPower>): ChassisPower {
    const valueOf = (c: ChassisInfo, depth: number): ChassisPower => {
      // A metered chassis with a null reading is `unknown` and stays so: its children's sum would be too low.
      const own = byUri.get(c.uri) ?? { kind: 'none', reasons: [] };
      if (own.kind !== 'none' || depth > 8) return own;
      const kids = childrenOf(c, chassis).map((k) => valueOf(k, depth + 1));
      return combine(kids, own.reasons);
    };
    return combine(
      topLevelChassis(chassis).map((c) => valueOf(c, 0)),
      [],
    );
  }

  private async chassisPower(c: ChassisInfo, signal: AbortSignal): Promise<ChassisPower> {
    let absent = this.absent.get(c.uri);
    if (absent === undefined) {
      absent = new Set<PowerSource>();
      this.absent.set(c.uri, absent);
    }
    const reasons: string[] = [];
    let failed: unknown;
    let nullReading = false;
    for (const name of POWER_SOURCES) {
      if (linkOf(c, name) === undefined || absent.has(name)) continue;
      let outcome: SourceOutcome;
      try {
        outcome = await this.readSource(name, c, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        if (isNotFound(err)) {
          if (this.served.get(c.uri)?.has(name) === true) {
            // It served power before: this poll has no value from it, and the next poll asks it again.
            nullReading = true;
            reasons.push(`${name}: not found (it answered before; asked again next poll)`);
            continue;
          }
          absent.add(name);
          reasons.push(`${name}: not found`);
          continue;
        }
        if (isTransportFailure(err)) return { kind: 'error', reasons: [...reasons, `${name}: ${errorMessage(err)}`], cause: err };
        failed ??= err;
        reasons.push(`${name}: ${errorMessage(err)}`);
        continue;
      }
      if (outcome.kind === 'ok') {
        let served = this.served.get(c.uri);
        if (served === undefined) {
          served = new Set<PowerSource>();
          this.served.set(c.uri, served);
        }
        served.add(name);
        if (reasons.length > 0) this.logger.debug({ chassis: c.id, source: name, skipped: reasons }, 'power source fallback');
        return outcome.energyKWh === undefined
          ? { kind: 'ok', watts: outcome.watts, source: name }
          : { kind: 'ok', watts: outcome.watts, source: name, energyKWh: outcome.energyKWh };
      }
      if (outcome.kind === 'invalid') failed ??= this.opts.makeError(outcome.reason, HTTP_ERROR_CODES.payload);
      if (outcome.kind === 'missing' && outcome.nullReading === true) nullReading = true;
      reasons.push(`${name}: ${outcome.reason}`);
    }
    if (failed !== undefined) return { kind: 'error', reasons, cause: failed };
    return nullReading ? { kind: 'unknown', reasons } : { kind: 'none', reasons };
  }

  // A switch rather than a table of closures: this runs for every chassis on every poll.
  private async readSource(name: PowerSource, c: ChassisInfo, signal: AbortSignal): Promise<SourceOutcome> {
    switch (name) {
      case 'EnvironmentMetrics':
        return parseEnvironmentMetrics(await this.source.get(c.environmentMetrics ?? '', signal));
      case 'PowerSubsystem':
        return this.powerSubsystem(c, signal);
      case 'Power':
        return parsePowerControl(await this.source.get(c.power ?? '', signal));
      case 'Sensors':
        return this.sensors(c, signal);
    }
  }

  /**
   * Sum of the active supplies' input power. The supply list is kept from poll to poll, but supplies that were
   * not active are looked at again on every poll (one GET each, only while some bay is empty or off), so one
   * plugged back or switched on counts from that poll on. A supply whose `Metrics` answers 404 or a null reading
   * is looked at again at once: left out when it is no longer active (pulled), else the sum is unknown; either way
   * the list is read again on the next poll. One supply's 404 never counts as the whole source missing.
   */
  private async powerSubsystem(c: ChassisInfo, signal: AbortSignal): Promise<SourceOutcome> {
    let list = this.supplies.get(c.uri);
    if (list !== undefined && list.inactive.length > 0) {
      const states = await Promise.all(list.inactive.map((u) => this.getIfPresent(u, signal)));
      if (states.some((b) => b !== undefined && isPowerSupplyActive(b))) {
        this.logger.info({ chassis: c.id }, 'a power supply became active; reading the supply list again');
        list = undefined;
      }
    }
    if (list === undefined) {
      const listed = await this.listSupplies(c, signal);
      if ('kind' in listed) return listed;
      list = listed;
      this.supplies.set(c.uri, list);
    }
    if (list.unmetered.length > 0) {
      // Summing the others would under-report: fall through to the next source instead.
      return { kind: 'missing', reason: `power supply without Metrics: ${list.unmetered.join(', ')}` };
    }
    let metrics: (unknown | undefined)[];
    try {
      metrics = await Promise.all(list.active.map((s) => this.getIfPresent(s.metrics, signal)));
    } catch (err) {
      this.supplies.delete(c.uri);
      throw err;
    }
    const kept: unknown[] = [];
    const unsure: string[] = [];
    await Promise.all(
      list.active.map(async (s, i) => {
        const m = metrics[i];
        if (m !== undefined && sumPowerSupplyMetrics([m]).kind !== 'missing') {
          kept.push(m);
          return;
        }
        // Metrics gone (404) or null: a supply just pulled or switched off is left out; one still on makes the sum unknown.
        const body = await this.getIfPresent(s.uri, signal);
        if (body !== undefined && isPowerSupplyActive(body)) unsure.push(`${s.uri}: ${m === undefined ? 'Metrics not found' : 'InputPowerWatts.Reading is null'}`);
      }),
    );
    if (kept.length !== list.active.length) this.supplies.delete(c.uri);
    if (unsure.length > 0) {
      return { kind: 'missing', reason: `power supply without a reading: ${unsure.join('; ')}`, nullReading: true };
    }
    return sumPowerSupplyMetrics(kept);
  }

  /** Lists the supplies of a chassis' PowerSubsystem, or says why there is nothing to sum. */
  private async listSupplies(c: ChassisInfo, signal: AbortSignal): Promise<SupplyList | SourceOutcome> {
    const subsystemUri = c.powerSubsystem ?? '';
    const subsystem = await this.source.get(subsystemUri, signal);
    const suppliesUri = powerSuppliesLink(subsystem, subsystemUri);
    if (suppliesUri === undefined) return { kind: 'missing', reason: 'PowerSubsystem has no PowerSupplies' };
    const members = await this.collectionMembers(suppliesUri, await this.source.get(suppliesUri, signal), signal);
    if (members === undefined) return { kind: 'invalid', reason: `${suppliesUri}: Members is not an array` };
    const bodies = await Promise.all(members.map((m) => this.getIfPresent(m, signal)));
    const list: SupplyList = { active: [], inactive: [], unmetered: [] };
    members.forEach((uri, i) => {
      const body = bodies[i];
      if (body === undefined || !isPowerSupplyActive(body)) {
        list.inactive.push(uri);
        return;
      }
      const metrics = powerSupplyMetricsLink(body, uri);
      if (metrics === undefined) list.unmetered.push(uri);
      else list.active.push({ uri, metrics });
    });
    return list;
  }

  /** The resource at `path`, or undefined when it answers 404/405 (a supply pulled, its metrics gone). */
  private async getIfPresent(path: string, signal: AbortSignal): Promise<unknown> {
    try {
      return await this.source.get(path, signal);
    } catch (err) {
      if (isNotFound(err) && !signal.aborted) return undefined;
      throw err;
    }
  }

  private async sensors(c: ChassisInfo, signal: AbortSignal): Promise<SourceOutcome> {
    const uri = c.sensors ?? '';
    const members = await this.collectionMembers(uri, await this.source.get(uri, signal), signal);
    if (members === undefined) return { kind: 'invalid', reason: 'Sensors: Members is not an array' };
    // Power sensors are named like `.../Sensors/PowerSupply1InputPower` or `.../Sensors/ChassisPower`; fetching
    // only plausible members keeps a 200-sensor Dell collection from costing 200 requests per poll.
    const likely = members.filter((m) => /pow|watt|pwr/i.test(m.split('/').pop() ?? ''));
    const bodies = await Promise.all((likely.length > 0 ? likely : members).map((m) => this.source.get(m, signal)));
    return pickPowerSensors(bodies);
  }

  private async chassisTemperatures(
    c: ChassisInfo,
    signal: AbortSignal,
    timestampNs: number,
  ): Promise<Reading[] | { error: unknown }> {
    try {
      if (c.thermal !== undefined && !this.thermalGone.has(c.uri)) {
        try {
          return parseThermal(await this.source.get(c.thermal, signal)).map((t) => ({
            sensor: `${c.id}/${t.name}`,
            unit: 'Celsius',
            value: t.celsius,
            timestampNs,
            source: 'Thermal',
          }));
        } catch (err) {
          // Firmware that dropped the deprecated Thermal resource may still link it next to ThermalSubsystem.
          if (!isNotFound(err) || c.thermalSubsystem === undefined) throw err;
          this.thermalGone.add(c.uri);
        }
      }
      if (c.thermalSubsystem !== undefined) {
        const sub = await this.source.get(c.thermalSubsystem, signal);
        const link = thermalMetricsLink(sub, c.thermalSubsystem) ?? normaliseUri(`${c.thermalSubsystem}/ThermalMetrics`);
        return parseThermalMetrics(await this.source.get(link, signal)).map((t) => ({
          sensor: `${c.id}/${t.name}`,
          unit: 'Celsius',
          value: t.celsius,
          timestampNs,
          source: 'ThermalSubsystem',
        }));
      }
    } catch (err) {
      if (signal.aborted) throw err;
      if (isTransportFailure(err) && !isNotFound(err)) return { error: err };
      this.logger.warn({ chassis: c.id, err: errorMessage(err) }, 'temperatures unavailable for this chassis');
    }
    return [];
  }
}

function linkOf(c: ChassisInfo, name: PowerSource): string | undefined {
  switch (name) {
    case 'EnvironmentMetrics':
      return c.environmentMetrics;
    case 'PowerSubsystem':
      return c.powerSubsystem;
    case 'Power':
      return c.power;
    case 'Sensors':
      return c.sensors;
  }
}

function combine(parts: readonly ChassisPower[], inherited: readonly string[]): ChassisPower {
  const reasons = [...inherited];
  let watts = 0;
  let energy = 0;
  let energyComplete = true;
  let okCount = 0;
  let unknown: ChassisPower | undefined;
  const sources = new Set<string>();
  for (const p of parts) {
    if (p.kind === 'error') return p;
    if (p.kind === 'unknown') {
      unknown ??= p;
      continue;
    }
    if (p.kind === 'none') {
      reasons.push(...p.reasons);
      continue;
    }
    okCount += 1;
    watts += p.watts;
    sources.add(p.source);
    if (p.energyKWh === undefined) energyComplete = false;
    else energy += p.energyKWh;
  }
  // A chassis that is metered but has no value this poll: a sum without it would be too low.
  if (unknown !== undefined) return unknown;
  if (okCount === 0) return { kind: 'none', reasons };
  const source = [...sources].join('+');
  return energyComplete ? { kind: 'ok', watts, source, energyKWh: energy } : { kind: 'ok', watts, source };
}
