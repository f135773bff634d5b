import { parseJsonKeepingNs } from './ns.js';
import type { LiveEnvironmentState, RunningScenario, SessionReport, SessionsResponse } from './types.js';

/** An API call that did not answer 2xx (or did not answer at all, `status` 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

async function getJson(path: string, signal?: AbortSignal, exactNs = true): Promise<unknown> {
  const timeout = AbortSignal.timeout(DEFAULT_TIMEOUT_MS);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  let res: Response;
  try {
    // Same-origin requests carry the Basic credentials the browser already holds for the page.
    res = await fetch(path, { headers: { accept: 'application/json' }, signal: combined, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(`GET ${path} failed: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 200);
    try {
      const body: unknown = JSON.parse(text);
      if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
        message = body.message;
      }
    } catch {
      // not JSON: keep the raw text
    }
    throw new ApiError(message, res.status);
  }
  return exactNs ? parseJsonKeepingNs(text) : (JSON.parse(text) as unknown);
}

const env = (environment: string): string => `/resources/recorders/environment/${encodeURIComponent(environment)}`;

/** The sessions of an environment, newest first. */
export async function fetchSessions(environment: string, limit: number, signal?: AbortSignal): Promise<SessionsResponse> {
  return (await getJson(`${env(environment)}/sessions?limit=${limit}`, signal)) as SessionsResponse;
}

/** The energy report of the session of `scenario` that started at `startNs`. */
export async function fetchReport(
  environment: string,
  session: { scenario: string; startNs: string },
  signal?: AbortSignal,
): Promise<SessionReport> {
  const q = new URLSearchParams({ scenario: session.scenario, start: session.startNs, format: 'json' });
  return (await getJson(`${env(environment)}/report?${q.toString()}`, signal)) as SessionReport;
}

/** What runs on an environment now, or null when nothing does (the original's 404). */
export async function fetchRunning(environment: string, signal?: AbortSignal): Promise<RunningScenario | null> {
  try {
    return (await getJson(env(environment), signal)) as RunningScenario;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Environments the server saw since it started. */
export async function fetchLiveEnvironments(signal?: AbortSignal): Promise<LiveEnvironmentState[]> {
  const body = (await getJson('/resources/live/environments', signal, false)) as { environments: LiveEnvironmentState[] };
  return body.environments;
}

/** Offers `content` as a file download named `name`. */
export function download(name: string, type: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
