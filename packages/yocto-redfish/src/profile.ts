import { readFileSync } from 'node:fs';
import { ValidationError } from '@energyrecorder/core';

/**
 * A power trace as a function of time since the meter started, with its exact integral, so tests can compare
 * the service's energy with the analytic value instead of a numerical estimate.
 */
export interface PowerProfile {
  /** Canonical text of the profile, e.g. `steps:100@10s,300@10s`. */
  readonly text: string;
  /** Power in watts at `tS` seconds after start. */
  powerAt(tS: number): number;
  /** Energy in joules from start to `tS` seconds. */
  energyJoules(tS: number): number;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** Parses `500ms`, `10s`, `2m`, `1h` or a bare number of seconds into seconds. */
export function parseDurationS(text: string, field = 'duration'): number {
  const m = DURATION.exec(text.trim());
  if (m === null) throw new ValidationError(field, `"${text}" is not a duration such as 500ms, 10s, 2m or 1h`);
  const value = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 0.001 : unit === 'm' ? 60 : unit === 'h' ? 3600 : 1;
  const seconds = value * factor;
  if (!(seconds > 0)) throw new ValidationError(field, `"${text}" must be longer than zero`);
  return seconds;
}

function parseWatts(text: string, field: string): number {
  const v = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(v)) throw new ValidationError(field, `"${text}" is not a number of watts`);
  return v;
}

/** Makes a periodic profile from one period's power and energy functions. */
function periodic(
  text: string,
  periodS: number,
  powerIn: (t: number) => number,
  energyIn: (t: number) => number,
): PowerProfile {
  const perPeriod = energyIn(periodS);
  return {
    text,
    powerAt: (t) => powerIn(((t % periodS) + periodS) % periodS),
    energyJoules: (t) => {
      if (t <= 0) return 0;
      const cycles = Math.floor(t / periodS);
      return cycles * perPeriod + energyIn(t - cycles * periodS);
    },
  };
}

/** Points of a piecewise-linear trace; between points power is interpolated, after the last it repeats. */
function piecewiseLinear(text: string, points: readonly (readonly [number, number])[]): PowerProfile {
  const first = points[0];
  if (first === undefined) throw new ValidationError('profile', 'a replay needs at least one point');
  const last = points[points.length - 1] ?? first;
  if (points.length === 1 || last[0] <= 0) {
    return { text, powerAt: () => first[1], energyJoules: (t) => first[1] * Math.max(0, t) };
  }
  // Cumulative energy at each point, so one lookup answers any instant.
  const cumulative: number[] = [0];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as readonly [number, number];
    const b = points[i] as readonly [number, number];
    cumulative.push((cumulative[i - 1] as number) + ((a[1] + b[1]) / 2) * (b[0] - a[0]));
  }
  const locate = (t: number): number => {
    let lo = 0;
    let hi = points.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((points[mid] as readonly [number, number])[0] <= t) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const powerIn = (t: number): number => {
    const i = locate(t);
    const a = points[i] as readonly [number, number];
    const b = points[i + 1] ?? a;
    if (b[0] === a[0]) return a[1];
    return a[1] + ((b[1] - a[1]) * (t - a[0])) / (b[0] - a[0]);
  };
  const energyIn = (t: number): number => {
    const i = locate(t);
    const a = points[i] as readonly [number, number];
    return (cumulative[i] as number) + ((a[1] + powerIn(t)) / 2) * (t - a[0]);
  };
  return periodic(text, last[0], powerIn, energyIn);
}

/** A small deterministic hash of (seed, index) to [0, 1): splitmix-style mixing, stable across platforms. */
function unitNoise(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 0x1_0000_0000;
}

/** Most checkpoints a noise profile keeps: its memory stays bounded however long it runs. */
export const NOISE_MAX_CHECKPOINTS = 1024;

/** A noise profile, with the size of its internal state for tests. */
export interface NoiseProfile extends PowerProfile {
  /** Numbers the profile retains (its checkpoints); at most {@link NOISE_MAX_CHECKPOINTS} + 1. */
  readonly retained: number;
}

/**
 * Uniform noise held for each bucket. The energy is the running sum of whole buckets: reads move forward in time,
 * so one cursor (bucket index and sum) makes each read O(1) amortised. Sparse checkpoints of the sum (spacing
 * doubled whenever they exceed {@link NOISE_MAX_CHECKPOINTS}) serve an earlier instant without starting over,
 * and bound the memory: a 10 ms bucket played for days used to keep every bucket's sum.
 */
export function noiseProfile(
  text: string,
  base: number,
  amplitude: number,
  bucketS: number,
  seed: number,
  limits: { firstSpacing?: number; maxCheckpoints?: number } = {},
): NoiseProfile {
  const powerOfBucket = (k: number): number => base + amplitude * (2 * unitNoise(seed, k) - 1);
  const maxCheckpoints = limits.maxCheckpoints ?? NOISE_MAX_CHECKPOINTS;
  let spacing = limits.firstSpacing ?? 4096;
  // checkpoints[i] is the sum of the first i * spacing buckets.
  let checkpoints: number[] = [0];
  let cursor = { k: 0, sum: 0 };
  const wholeBuckets = (k: number): number => {
    if (k < cursor.k) {
      // An earlier instant: restart from the last checkpoint at or before it.
      const i = Math.floor(k / spacing);
      cursor = { k: i * spacing, sum: checkpoints[i] as number };
    }
    let { k: n, sum } = cursor;
    while (n < k) {
      sum += powerOfBucket(n) * bucketS;
      n++;
      if (n % spacing === 0 && n / spacing === checkpoints.length) {
        checkpoints.push(sum);
        if (checkpoints.length > maxCheckpoints) {
          checkpoints = checkpoints.filter((_, j) => j % 2 === 0);
          spacing *= 2;
        }
      }
    }
    cursor = { k: n, sum };
    return sum;
  };
  return {
    text,
    powerAt: (t) => powerOfBucket(Math.floor(Math.max(0, t) / bucketS)),
    energyJoules: (t) => {
      if (t <= 0) return 0;
      const k = Math.floor(t / bucketS);
      return wholeBuckets(k) + powerOfBucket(k) * (t - k * bucketS);
    },
    get retained() {
      return checkpoints.length;
    },
  };
}

/** Reads a replay CSV: `seconds,watts` per line; a header line and `#` comments are skipped. */
export function parseReplayCsv(content: string, source = 'csv'): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  content.split(/\r?\n/).forEach((raw, lineNo) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [tText = '', wText = ''] = line.split(/[,;\t]/);
    const t = Number(tText);
    const w = Number(wText);
    if (!Number.isFinite(t) || !Number.isFinite(w) || tText.trim() === '' || wText.trim() === '') {
      if (points.length === 0 && lineNo === 0) return; // header
      throw new ValidationError(`${source}:${lineNo + 1}`, `expected "seconds,watts", got "${line}"`);
    }
    const prev = points[points.length - 1];
    if (prev !== undefined && t < prev[0]) {
      throw new ValidationError(`${source}:${lineNo + 1}`, 'times must not go backwards');
    }
    points.push([t, w]);
  });
  if (points.length === 0) throw new ValidationError(source, 'no data rows');
  const t0 = (points[0] as [number, number])[0];
  return points.map(([t, w]) => [t - t0, w]);
}

/**
 * Parses a profile:
 * - `constant:200`
 * - `steps:100@10s,300@10s` (repeats)
 * - `ramp:100-400/60s` (sawtooth, repeats)
 * - `sine:200+-50/30s`
 * - `noise:200+-5[/1s][;seed=42]` (uniform noise held for each interval)
 * - `csv:<file>` (`seconds,watts` rows, linear between rows, repeats)
 *
 * `readFile` is injectable so tests need no file.
 */
export function parseProfile(text: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): PowerProfile {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) throw new ValidationError('profile', `"${text}" has no kind; expected e.g. constant:200`);
  const kind = trimmed.slice(0, colon).toLowerCase();
  const spec = trimmed.slice(colon + 1);
  switch (kind) {
    case 'constant': {
      const w = parseWatts(spec, 'profile');
      return { text: trimmed, powerAt: () => w, energyJoules: (t) => w * Math.max(0, t) };
    }
    case 'steps': {
      const steps = spec.split(',').map((part) => {
        const [w = '', d = ''] = part.split('@');
        return [parseWatts(w, 'profile'), parseDurationS(d, 'profile')] as const;
      });
      return stepProfile(trimmed, steps);
    }
    case 'ramp': {
      const m = /^(-?[\d.]+)-(-?[\d.]+)\/(.+)$/.exec(spec);
      if (m === null) throw new ValidationError('profile', `"${text}": expected ramp:<from>-<to>/<duration>`);
      const from = parseWatts(m[1] ?? '', 'profile');
      const to = parseWatts(m[2] ?? '', 'profile');
      const d = parseDurationS(m[3] ?? '', 'profile');
      return periodic(
        trimmed,
        d,
        (t) => from + ((to - from) * t) / d,
        (t) => from * t + ((to - from) * t * t) / (2 * d),
      );
    }
    case 'sine': {
      const m = /^(-?[\d.]+)\+-([\d.]+)\/(.+)$/.exec(spec);
      if (m === null) throw new ValidationError('profile', `"${text}": expected sine:<mean>+-<amplitude>/<period>`);
      const mean = parseWatts(m[1] ?? '', 'profile');
      const amp = parseWatts(m[2] ?? '', 'profile');
      const period = parseDurationS(m[3] ?? '', 'profile');
      const w = (2 * Math.PI) / period;
      return {
        text: trimmed,
        powerAt: (t) => mean + amp * Math.sin(w * t),
        energyJoules: (t) => (t <= 0 ? 0 : mean * t + (amp / w) * (1 - Math.cos(w * t))),
      };
    }
    case 'noise': {
      const [body = '', ...opts] = spec.split(';');
      const m = /^(-?[\d.]+)\+-([\d.]+)(?:\/(.+))?$/.exec(body);
      if (m === null) throw new ValidationError('profile', `"${text}": expected noise:<mean>+-<amplitude>[/<hold>][;seed=N]`);
      let seed = 1;
      for (const opt of opts) {
        const s = /^seed=(\d+)$/.exec(opt.trim());
        if (s === null) throw new ValidationError('profile', `"${opt}": unknown noise option (only seed=N)`);
        seed = Number(s[1]);
      }
      return noiseProfile(
        trimmed,
        parseWatts(m[1] ?? '', 'profile'),
        parseWatts(m[2] ?? '', 'profile'),
        m[3] === undefined ? 1 : parseDurationS(m[3], 'profile'),
        seed,
      );
    }
    case 'csv': {
      if (spec.trim() === '') throw new ValidationError('profile', 'csv: needs a file path');
      return piecewiseLinear(trimmed, parseReplayCsv(readFile(spec.trim()), spec.trim()));
    }
    default:
      throw new ValidationError('profile', `unknown kind "${kind}"; valid: constant, steps, ramp, sine, noise, csv`);
  }
}

function stepProfile(text: string, steps: ReadonlyArray<readonly [number, number]>): PowerProfile {
  const starts: number[] = [];
  const energies: number[] = [];
  let t = 0;
  let e = 0;
  for (const [w, d] of steps) {
    starts.push(t);
    energies.push(e);
    t += d;
    e += w * d;
  }
  const index = (tIn: number): number => {
    let i = 0;
    while (i + 1 < starts.length && (starts[i + 1] as number) <= tIn) i++;
    return i;
  };
  return periodic(
    text,
    t,
    (tIn) => (steps[index(tIn)] as readonly [number, number])[0],
    (tIn) => {
      const i = index(tIn);
      return (energies[i] as number) + (steps[i] as readonly [number, number])[0] * (tIn - (starts[i] as number));
    },
  );
}
