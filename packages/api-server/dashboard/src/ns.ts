import type { NsText } from './types.js';

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const NS_KEY = /Ns$/;

/**
 * Parses an API answer, keeping every `...Ns` number as its exact decimal text. Browsers with JSON source text
 * access give the digits as sent; elsewhere the double's shortest form is used (exact to about 256 ns).
 */
export function parseJsonKeepingNs(text: string): unknown {
  const reviver: Reviver = (key, value, context) => {
    if (!NS_KEY.test(key) || typeof value !== 'number') return value;
    const source = context?.source;
    return source !== undefined && /^\d+$/.test(source) ? source : nsToText(value);
  };
  return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
}

/** A ns count as decimal text without exponent. */
export function nsToText(ns: number): NsText {
  return BigInt(Math.round(ns)).toString();
}

/** Epoch ns text to epoch seconds (for charts and clocks). */
export function nsTextToSeconds(ns: NsText): number {
  return Number(ns) / 1e9;
}
