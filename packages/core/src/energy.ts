import type { PowerSample } from './domain.js';

/** Defaults of {@link integrateEnergy}. */
export const DEFAULT_INTEGRATION_OPTIONS = Object.freeze({
  /** A gap longer than this many expected intervals is not bridged. */
  gapFactor: 3,
});

/** Options of {@link integrateEnergy}. */
export interface IntegrationOptions {
  /** Start of the window, ns since the epoch (inclusive). Defaults to the first sample. */
  startNs?: number;
  /** End of the window, ns since the epoch. Defaults to the last sample. */
  endNs?: number;
  /** Expected time between samples, in ns. Defaults to the median spacing of the samples. */
  expectedIntervalNs?: number;
  /** See {@link DEFAULT_INTEGRATION_OPTIONS}. */
  gapFactor?: number;
}

/** A stretch of the window with no usable samples. */
export interface EnergyGap {
  startNs: number;
  endNs: number;
  durationNs: number;
}

/** Energy over a window, with the figures that say how far to trust it. */
export interface EnergyResult {
  /** Energy in joules over the covered parts of the window. */
  energyJoules: number;
  /** Energy in watt-hours. */
  energyWh: number;
  /** Window length in ns. */
  durationNs: number;
  /** Covered time in ns (bridged sample pairs inside the window). */
  coveredNs: number;
  /** Covered share of the window, 0–100. */
  coveragePct: number;
  /** Samples that fall inside the window. */
  sampleCount: number;
  /** Uncovered stretches: unbridged gaps, and the head/tail before the first or after the last sample. */
  gaps: EnergyGap[];
  /** Longest uncovered stretch in ns (0 when none). */
  longestGapNs: number;
  /** Lowest power seen in the window (samples and interpolated boundaries), or null without data. */
  minWatts: number | null;
  /** Time-weighted mean power over the covered time, or null without coverage. */
  avgWatts: number | null;
  /** Highest power seen in the window, or null without data. */
  maxWatts: number | null;
}

/** The samples with finite time and power, in time order (a copy; sorted only when they are not already). */
export function sortPowerSamples(samples: readonly PowerSample[]): PowerSample[] {
  const out = samples.filter((s) => Number.isFinite(s.timestampNs) && Number.isFinite(s.powerWatts));
  for (let i = 1; i < out.length; i++) {
    if ((out[i] as PowerSample).timestampNs < (out[i - 1] as PowerSample).timestampNs) {
      return out.sort((a, b) => a.timestampNs - b.timestampNs);
    }
  }
  return out;
}

/**
 * The median of the positive spacings of time-ordered samples: the interval {@link integrateEnergy} expects when
 * none is given (0 with fewer than two distinct times). A caller integrating many windows of one series computes
 * it once and passes it as `expectedIntervalNs`.
 */
export function medianSpacingNs(sorted: readonly PowerSample[]): number {
  const spacings: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const d = (sorted[i] as PowerSample).timestampNs - (sorted[i - 1] as PowerSample).timestampNs;
    if (d > 0) spacings.push(d);
  }
  if (spacings.length === 0) return 0;
  spacings.sort((a, b) => a - b);
  const mid = Math.floor(spacings.length / 2);
  return spacings.length % 2 === 1 ? (spacings[mid] as number) : ((spacings[mid - 1] as number) + (spacings[mid] as number)) / 2;
}

/**
 * Integrates power samples into energy by the trapezoid rule. Where the window starts or ends between two
 * samples, the power at the boundary is interpolated linearly so the window gets its exact share. A pair of
 * samples further apart than `gapFactor` × the expected interval is a gap: not bridged, and reported.
 *
 * Times are handled relative to the window start, so the 256 ns granularity of epoch-ns doubles does not leak
 * into the result.
 */
export function integrateEnergy(samples: readonly PowerSample[], options: IntegrationOptions = {}): EnergyResult {
  const data = sortPowerSamples(samples);
  const first = data[0];
  const last = data[data.length - 1];
  const startNs = options.startNs ?? first?.timestampNs ?? 0;
  const endNs = Math.max(startNs, options.endNs ?? last?.timestampNs ?? startNs);
  const durationNs = endNs - startNs;
  const gapFactor = options.gapFactor ?? DEFAULT_INTEGRATION_OPTIONS.gapFactor;
  const expected = options.expectedIntervalNs ?? medianSpacingNs(data);
  const maxBridgeNs = expected > 0 ? expected * gapFactor : Number.POSITIVE_INFINITY;

  let energyJ = 0;
  let coveredNs = 0;
  let minW = Number.POSITIVE_INFINITY;
  let maxW = Number.NEGATIVE_INFINITY;
  let sampleCount = 0;
  const gaps: EnergyGap[] = [];
  // `cursor` is the end of the last covered stretch; anything between it and the next covered start is a gap.
  let cursor = startNs;
  const addGap = (from: number, to: number): void => {
    if (to > from) gaps.push({ startNs: from, endNs: to, durationNs: to - from });
  };
  const see = (w: number): void => {
    if (w < minW) minW = w;
    if (w > maxW) maxW = w;
  };

  let sampleWattsSum = 0;
  for (const s of data) {
    if (s.timestampNs >= startNs && s.timestampNs <= endNs) {
      sampleCount++;
      sampleWattsSum += s.powerWatts;
      see(s.powerWatts);
    }
  }

  for (let i = 1; i < data.length; i++) {
    const a = data[i - 1] as PowerSample;
    const b = data[i] as PowerSample;
    const span = b.timestampNs - a.timestampNs;
    if (span <= 0 || b.timestampNs <= startNs || a.timestampNs >= endNs) continue;
    if (span > maxBridgeNs) continue;
    const from = Math.max(a.timestampNs, startNs);
    const to = Math.min(b.timestampNs, endNs);
    if (to <= from) continue;
    const slope = (b.powerWatts - a.powerWatts) / span;
    const wFrom = a.powerWatts + slope * (from - a.timestampNs);
    const wTo = a.powerWatts + slope * (to - a.timestampNs);
    see(wFrom);
    see(wTo);
    const seconds = (to - startNs) / 1e9 - (from - startNs) / 1e9;
    energyJ += ((wFrom + wTo) / 2) * seconds;
    coveredNs += to - from;
    addGap(cursor, from);
    cursor = to;
  }
  addGap(cursor, endNs);

  const hasData = minW !== Number.POSITIVE_INFINITY;
  return {
    energyJoules: energyJ,
    energyWh: energyJ / 3600,
    durationNs,
    coveredNs,
    coveragePct: durationNs > 0 ? (coveredNs / durationNs) * 100 : sampleCount > 0 ? 100 : 0,
    sampleCount,
    gaps,
    longestGapNs: gaps.reduce((m, g) => Math.max(m, g.durationNs), 0),
    minWatts: hasData ? minW : null,
    // Without covered time (a single sample, or samples too far apart to bridge), the samples' plain mean.
    avgWatts: coveredNs > 0 ? energyJ / (coveredNs / 1e9) : sampleCount > 0 ? sampleWattsSum / sampleCount : null,
    maxWatts: hasData ? maxW : null,
  };
}
