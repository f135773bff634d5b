import { SdkError } from '../errors.js';

/** What a call to the recording API answered. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** One HTTP request to the recording API. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  authorization: string | undefined;
  timeoutMs: number;
  body?: unknown;
  /** The original sent `content-type: application/json` on every call but GET-current; the API ignores it. */
  jsonHeader?: boolean;
  accept?: string;
  signal?: AbortSignal;
}

/**
 * Sends one request with Node's `fetch` and a hard deadline. Network failures become `ER_SDK_NETWORK`, the
 * deadline `ER_SDK_TIMEOUT`, an abort of `req.signal` `ER_SDK_ABORTED`; any status is returned, not thrown, so
 * callers decide what a non-200 means.
 */
export async function httpCall(req: HttpRequest): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (req.jsonHeader === true || req.body !== undefined) headers['content-type'] = 'application/json';
  if (req.accept !== undefined) headers['accept'] = req.accept;
  if (req.authorization !== undefined) headers['authorization'] = req.authorization;
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
  try {
    const init: RequestInit = { method: req.method, headers, signal };
    if (req.body !== undefined) init.body = JSON.stringify(req.body);
    const res = await fetch(req.url, init);
    const text = await res.text();
    return { status: res.status, text };
  } catch (err) {
    // The combined signal keeps the reason of whichever source aborted first, so a caller's abort that came
    // before the deadline is not taken for an unreachable API.
    if (req.signal?.aborted === true && signal.reason === req.signal.reason) {
      throw new SdkError('ER_SDK_ABORTED', `${req.method} ${req.url} aborted by the caller`, { cause: err });
    }
    if (timeout.aborted) {
      throw new SdkError('ER_SDK_TIMEOUT', `${req.method} ${req.url} gave no answer within ${req.timeoutMs} ms`, {
        retryable: true,
        cause: err,
      });
    }
    const detail = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new SdkError('ER_SDK_NETWORK', `${req.method} ${req.url} failed: ${detail}`, { retryable: true, cause: err });
  }
}

/** Parses a JSON body, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Narrows to a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** First 300 characters of a body, for logs. */
export function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * Percent-encodes an environment name for one path segment. The original used Python's `quote_plus`, whose
 * `+` for a space is wrong in a path (servers do not decode it); everything else matches its output.
 */
export function quoteSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
