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

async function getText(path: string, accept: string, signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(DEFAULT_TIMEOUT_MS);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  let res: Response;
  try {
    // Same-origin requests carry the Basic credentials the browser already holds for the page.
    res = await fetch(path, { headers: { accept }, signal: combined, credentials: 'same-origin' });
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
  return text;
}

async function getJson(path: string, signal?: AbortSignal, exactNs = true): Promise<unknown> {
  const text = await getText(path, 'application/json', signal);
  return exactNs ? parseJsonKeepingNs(text) : (JSON.parse(text) as unknown);
}

const env = (environment: string): string => `/resources/recorders/environment/${encodeURIComponent(environment)}`;

const reportPath = (environment: string, session: { scenario: string; startNs: string }, format: 'json' | 'csv'): string =>
  `${env(environment)}/report?${new URLSearchParams({ scenario: session.scenario, start: session.startNs, format }).toString()}`;

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
  return (await getJson(reportPath(environment, session, 'json'), signal)) as SessionReport;
}

/** The same report in the API's CSV form (the one `format=csv` gives every client). */
export async function fetchReportCsv(
  environment: string,
  session: { scenario: string; startNs: string },
  signal?: AbortSignal,
): Promise<string> {
  return getText(reportPath(environment, session, 'csv'), 'text/csv', signal);
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
