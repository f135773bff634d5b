import 'uplot/dist/uPlot.min.css';
import './styles.css';
import {
  ApiError,
  download,
  fetchLiveEnvironments,
  fetchReport,
  fetchReportCsv,
  fetchRunning,
  fetchSessions,
} from './api.js';
import { samplesToCsv, sessionsToCsv } from './csv.js';
import { formatClock, formatDuration, formatWh } from './format.js';
import { LiveChart, seriesColor, type StepBand } from './live-chart.js';
import { nsTextToSeconds, nsToText } from './ns.js';
import { applySessionEvent } from '../../src/sessions.js';
import { renderReportBars, renderReportTable } from './report-view.js';
import type {
  LiveBacklog,
  LiveEnvironments,
  LiveEnvironmentState,
  LivePower,
  LiveSession,
  SessionReport,
  SessionSummary,
} from './types.js';

const SESSION_LIMIT = 30;
/** Nested sessions are indented by their depth, up to this many levels (deeper ones line up with it). */
const MAX_SHOWN_DEPTH = 4;
const CHART_HEIGHT = 320;

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`page is missing #${id}`);
  return node as T;
}

const ui = {
  envForm: byId<HTMLFormElement>('env-form'),
  envInput: byId<HTMLInputElement>('env-input'),
  envOptions: byId<HTMLDataListElement>('env-options'),
  windowSelect: byId<HTMLSelectElement>('window-select'),
  conn: byId<HTMLElement>('conn'),
  envList: byId<HTMLUListElement>('env-list'),
  nowRunning: byId<HTMLElement>('now-running'),
  chart: byId<HTMLElement>('chart'),
  legend: byId<HTMLUListElement>('legend'),
  liveCsv: byId<HTMLButtonElement>('live-csv'),
  liveJson: byId<HTMLButtonElement>('live-json'),
  sessionList: byId<HTMLUListElement>('session-list'),
  sessionsCsv: byId<HTMLButtonElement>('sessions-csv'),
  sessionsJson: byId<HTMLButtonElement>('sessions-json'),
  reportSummary: byId<HTMLElement>('report-summary'),
  reportBars: byId<HTMLElement>('report-bars'),
  reportBody: byId<HTMLTableSectionElement>('report-body'),
  reportCsv: byId<HTMLButtonElement>('report-csv'),
  reportJson: byId<HTMLButtonElement>('report-json'),
  message: byId<HTMLElement>('message'),
};

interface EnvRow {
  scenario?: string;
  step?: string;
  running: boolean;
}

const state = {
  environment: undefined as string | undefined,
  envs: new Map<string, EnvRow>(),
  sessions: [] as SessionSummary[],
  sessionsAvailable: true,
  selected: undefined as { scenario: string; startNs: string } | undefined,
  report: undefined as SessionReport | undefined,
  live: undefined as EventSource | undefined,
  envAbort: new AbortController(),
  equipmentColors: new Map<string, string>(),
};

/** One colour per equipment name for the page's life: its trace, legend swatch and report bar segments. */
function colorOf(equipment: string): string {
  let color = state.equipmentColors.get(equipment);
  if (color === undefined) {
    color = seriesColor(state.equipmentColors.size);
    state.equipmentColors.set(equipment, color);
  }
  return color;
}

const chart = new LiveChart(ui.chart, ui.legend, { height: CHART_HEIGHT, windowS: Number(ui.windowSelect.value), colorOf });

function showMessage(text: string): void {
  ui.message.textContent = text;
}

function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? err.message : `${err.status}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Replaces a list's items and gives focus back to the new button with the same `data-key` when the old one had
 * it: these lists are re-rendered on every session event, and a keyboard user would otherwise be thrown back to
 * the top of the page each time.
 */
function replaceKeepingFocus(list: HTMLElement, items: HTMLElement[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && list.contains(active) ? active.dataset['key'] : undefined;
  list.replaceChildren(...items);
  if (key === undefined) return;
  for (const node of list.querySelectorAll<HTMLElement>('[data-key]')) {
    if (node.dataset['key'] === key) {
      node.focus({ preventScroll: true });
      return;
    }
  }
}

// ---- environments -----------------------------------------------------------------------------------------

function renderEnvironments(): void {
  const names = [...state.envs.keys()].sort((a, b) => a.localeCompare(b));
  ui.envOptions.replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n })));
  const items = names.map((name) => {
    const row = state.envs.get(name) as EnvRow;
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'env-button';
    button.dataset['environment'] = name;
    button.dataset['key'] = name;
    if (name === state.environment) button.setAttribute('aria-current', 'true');
    const title = document.createElement('span');
    title.className = 'env-name';
    title.textContent = name;
    const detail = document.createElement('span');
    detail.className = row.running ? 'env-detail running' : 'env-detail';
    detail.textContent = row.running ? `${row.scenario ?? '?'} · ${row.step ?? '?'}` : 'idle';
    button.append(title, detail);
    button.addEventListener('click', () => selectEnvironment(name));
    li.append(button);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No environment has sent data since the server started. Type one above.';
    items.push(li);
  }
  replaceKeepingFocus(ui.envList, items);
}

function applyEnvSession(session: LiveSession): void {
  state.envs.set(session.environment, {
    running: session.started,
    scenario: session.scenario,
    step: session.step,
  });
}

/** Takes in the hub's view of environments: its last session where it saw one, else "not running" for new ones. */
function applyEnvironmentStates(list: readonly LiveEnvironmentState[]): void {
  for (const env of list) {
    if (env.session !== undefined) applyEnvSession(env.session);
    else if (!state.envs.has(env.environment)) state.envs.set(env.environment, { running: false });
  }
  renderEnvironments();
}

async function loadEnvironments(): Promise<void> {
  let list: LiveEnvironmentState[] = [];
  try {
    list = await fetchLiveEnvironments();
  } catch (err) {
    showMessage(`Could not list environments (${describeError(err)}).`);
  }
  applyEnvironmentStates(list);
  // After a server restart the live hub knows no session yet: ask the store what runs.
  await Promise.all(
    list
      .filter((e) => e.session === undefined)
      .slice(0, 30)
      .map(async (e) => {
        try {
          const running = await fetchRunning(e.environment);
          state.envs.set(e.environment, running === null ? { running: false } : { running: true, ...running });
        } catch {
          // the list still shows the environment; its state stays unknown
        }
      }),
  );
  renderEnvironments();
  if (state.environment === undefined && list[0] !== undefined) selectEnvironment(list[0].environment);
}

function connectGlobalStream(): void {
  const source = new EventSource('/resources/live');
  // All environments when the stream opens, then each new one when it first sends data (power or session).
  source.addEventListener('environments', (ev) => {
    const body = JSON.parse((ev as MessageEvent<string>).data) as LiveEnvironments;
    applyEnvironmentStates(body.environments);
    const first = body.environments[0];
    if (state.environment === undefined && first !== undefined) selectEnvironment(first.environment);
  });
  source.addEventListener('session', (ev) => {
    applyEnvSession(JSON.parse((ev as MessageEvent<string>).data) as LiveSession);
    renderEnvironments();
  });
}

// ---- live stream of one environment --------------------------------------------------------------------------

function setConnection(text: string, ok: boolean): void {
  ui.conn.textContent = text;
  ui.conn.className = ok ? 'conn ok' : 'conn down';
}

function renderNowRunning(): void {
  const env = state.environment;
  if (env === undefined) {
    ui.nowRunning.textContent = 'Choose an environment.';
    return;
  }
  const row = state.envs.get(env);
  ui.nowRunning.replaceChildren();
  const envSpan = Object.assign(document.createElement('strong'), { textContent: env });
  const detail = document.createElement('span');
  detail.id = 'running-detail';
  if (row?.running === true) {
    detail.textContent = ` — running scenario "${row.scenario ?? '?'}", step "${row.step ?? '?'}"`;
    detail.dataset['scenario'] = row.scenario ?? '';
    detail.dataset['step'] = row.step ?? '';
  } else {
    detail.textContent = ' — no scenario running';
  }
  ui.nowRunning.append(envSpan, detail);
}

function bandsFromSessions(): StepBand[] {
  const bands: StepBand[] = [];
  for (const session of state.sessions) {
    for (const step of session.steps) {
      bands.push({
        label: `${session.scenario} · ${step.step}`,
        startS: nsTextToSeconds(step.startNs),
        endS: step.endNs === null ? null : nsTextToSeconds(step.endNs),
      });
    }
  }
  return bands.sort((a, b) => a.startS - b.startS);
}

/**
 * Applies a scenario change to the local session list at once, by the server's own rule (`applySessionEvent`:
 * a start of a suspended scenario restores it, any other start nests, a stop ends them all); the next fetch
 * replaces it with the truth.
 */
function patchSessions(event: LiveSession): void {
  // The running sessions, oldest first, are the stack whose top the API shows.
  const stack = state.sessions.filter((s) => s.running).reverse();
  const opened = applySessionEvent(stack, { scenario: event.scenario, step: event.step, started: event.started, timeNs: nsToText(event.timeNs) });
  if (opened !== undefined) state.sessions.unshift(opened);
  chart.setBands(bandsFromSessions());
  renderSessions();
}

let sessionsTimer = 0;
function scheduleSessionsReload(delayMs: number): void {
  window.clearTimeout(sessionsTimer);
  sessionsTimer = window.setTimeout(() => void loadSessions(), delayMs);
}

function connectEnvironmentStream(environment: string): void {
  state.live?.close();
  const source = new EventSource(`/resources/live?environment=${encodeURIComponent(environment)}`);
  state.live = source;
  setConnection('connecting…', false);
  source.addEventListener('open', () => setConnection('live', true));
  source.addEventListener('error', () => setConnection('reconnecting…', false));
  source.addEventListener('backlog', (ev) => {
    const body = JSON.parse((ev as MessageEvent<string>).data) as LiveBacklog;
    chart.setServerNow(body.nowNs);
    // A reconnect resends the backlog; the rings drop samples older than what they hold, so nothing doubles.
    for (const msg of body.power) chart.addSamples(msg.equipment, msg.samples);
    if (body.state.session !== undefined) applyEnvSession(body.state.session);
    renderNowRunning();
  });
  source.addEventListener('power', (ev) => {
    const msg = JSON.parse((ev as MessageEvent<string>).data) as LivePower;
    chart.addSamples(msg.equipment, msg.samples);
  });
  source.addEventListener('session', (ev) => {
    const event = JSON.parse((ev as MessageEvent<string>).data) as LiveSession;
    applyEnvSession(event);
    renderNowRunning();
    renderEnvironments();
    patchSessions(event);
    scheduleSessionsReload(300);
  });
}

// ---- sessions and report ---------------------------------------------------------------------------------------

/**
 * A session's identity. Start times are compared as the doubles they are on the server: a session first seen
 * through the live stream has its start written as the double's exact digits, the sessions endpoint writes the
 * same double in its shortest form ("...248" vs "...200"), and comparing the texts lost the selection.
 */
function sessionKey(s: { scenario: string; startNs: string }): string {
  return `${String(Number(s.startNs))} ${s.scenario}`;
}

function sameSession(a: { scenario: string; startNs: string } | undefined, b: SessionSummary): boolean {
  return a !== undefined && sessionKey(a) === sessionKey(b);
}

/** How deep each listed session is nested (0 for a top-level one), by key; a parent not listed counts as one level. */
function nestingDepths(): Map<string, number> {
  const depths = new Map<string, number>();
  // Oldest first, so a parent is placed before the sessions inside it.
  for (let i = state.sessions.length - 1; i >= 0; i--) {
    const s = state.sessions[i] as SessionSummary;
    depths.set(sessionKey(s), s.parent === undefined ? 0 : (depths.get(sessionKey(s.parent)) ?? 0) + 1);
  }
  return depths;
}

function renderSessions(): void {
  const depths = nestingDepths();
  const items = state.sessions.map((session) => {
    const li = document.createElement('li');
    const depth = depths.get(sessionKey(session)) ?? 0;
    if (depth > 0) {
      li.className = 'nested';
      li.style.setProperty('--depth', String(Math.min(depth, MAX_SHOWN_DEPTH)));
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'session-button';
    button.dataset['scenario'] = session.scenario;
    button.dataset['startNs'] = session.startNs;
    button.dataset['key'] = sessionKey(session);
    if (sameSession(state.selected, session)) button.setAttribute('aria-current', 'true');
    const startS = nsTextToSeconds(session.startNs);
    const endS = session.endNs === null ? Date.now() / 1000 : nsTextToSeconds(session.endNs);
    const name = Object.assign(document.createElement('span'), { className: 'session-name', textContent: session.scenario });
    const when = Object.assign(document.createElement('span'), {
      className: 'session-when',
      textContent: `${formatClock(startS)} · ${formatDuration(endS - startS)} · ${session.steps.length} step${session.steps.length === 1 ? '' : 's'}`,
    });
    button.append(name, when);
    if (session.parent !== undefined) {
      button.append(Object.assign(document.createElement('span'), { className: 'session-parent', textContent: `inside ${session.parent.scenario}` }));
    }
    if (session.running) button.append(Object.assign(document.createElement('span'), { className: 'badge', textContent: 'running' }));
    button.addEventListener('click', () => {
      state.selected = { scenario: session.scenario, startNs: session.startNs };
      renderSessions();
      void loadReport();
    });
    li.append(button);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = state.sessionsAvailable ? 'No session recorded yet.' : 'This server has no sessions endpoint.';
    items.push(li);
  }
  replaceKeepingFocus(ui.sessionList, items);
}

async function loadSessions(): Promise<void> {
  const env = state.environment;
  if (env === undefined) return;
  try {
    const body = await fetchSessions(env, SESSION_LIMIT, state.envAbort.signal);
    if (env !== state.environment) return;
    state.sessions = body.sessions;
    state.sessionsAvailable = true;
  } catch (err) {
    if (state.envAbort.signal.aborted) return;
    if (err instanceof ApiError && err.status === 404) state.sessionsAvailable = false;
    else showMessage(`Could not load sessions (${describeError(err)}).`);
  }
  chart.setBands(bandsFromSessions());
  const first = state.sessions[0];
  const stillThere = state.sessions.find((s) => sameSession(state.selected, s));
  // Take the server's text of the start, so the report is asked for with its digits.
  const keep = stillThere ?? first;
  if (keep !== undefined) state.selected = { scenario: keep.scenario, startNs: keep.startNs };
  renderSessions();
  await loadReport();
}

async function loadReport(): Promise<void> {
  const env = state.environment;
  const selected = state.selected;
  if (env === undefined || selected === undefined) return;
  try {
    const report = await fetchReport(env, selected, state.envAbort.signal);
    if (env !== state.environment || selected !== state.selected) return;
    state.report = report;
    renderReport();
  } catch (err) {
    if (state.envAbort.signal.aborted) return;
    state.report = undefined;
    ui.reportSummary.textContent = `No report for this session (${describeError(err)}).`;
    ui.reportBars.replaceChildren();
    ui.reportBody.replaceChildren();
    ui.reportCsv.disabled = true;
    ui.reportJson.disabled = true;
  }
}

function renderReport(): void {
  const report = state.report;
  if (report === undefined) return;
  for (const eq of report.equipments) colorOf(eq.equipment);
  ui.reportSummary.replaceChildren();
  const total = Object.assign(document.createElement('strong'), { id: 'report-total', textContent: formatWh(report.totals.energyWh) });
  total.dataset['energyJoules'] = String(report.totals.energyJoules);
  total.dataset['energyWh'] = String(report.totals.energyWh);
  ui.reportSummary.append(
    `${report.scenario}${report.running ? ' (running)' : ''}: `,
    total,
    ` (${Math.round(report.totals.energyJoules)} J) over ${formatDuration(report.totals.durationS)}, ${report.equipments.length} equipment${report.equipments.length === 1 ? '' : 's'}`,
  );
  renderReportBars(ui.reportBars, report, colorOf);
  renderReportTable(ui.reportBody, report);
  ui.reportCsv.disabled = false;
  ui.reportJson.disabled = false;
}

// ---- wiring ------------------------------------------------------------------------------------------------------

function selectEnvironment(environment: string): void {
  if (environment === state.environment) return;
  state.envAbort.abort();
  state.envAbort = new AbortController();
  state.environment = environment;
  state.sessions = [];
  state.selected = undefined;
  state.report = undefined;
  ui.envInput.value = environment;
  history.replaceState(null, '', `#environment=${encodeURIComponent(environment)}`);
  if (!state.envs.has(environment)) state.envs.set(environment, { running: false });
  chart.reset();
  renderEnvironments();
  renderNowRunning();
  renderSessions();
  ui.reportSummary.textContent = 'Loading…';
  ui.reportBars.replaceChildren();
  ui.reportBody.replaceChildren();
  connectEnvironmentStream(environment);
  const signal = state.envAbort.signal;
  void fetchRunning(environment, signal)
    .then((running) => {
      if (environment !== state.environment) return;
      state.envs.set(environment, running === null ? { running: false } : { running: true, ...running });
      renderNowRunning();
      renderEnvironments();
    })
    .catch(() => undefined);
  void loadSessions();
}

ui.envForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = ui.envInput.value.trim();
  if (name !== '') selectEnvironment(name);
});

ui.windowSelect.addEventListener('change', () => chart.setWindow(Number(ui.windowSelect.value)));

const stamp = (): string => new Date().toISOString().replace(/[:.]/g, '-');
const fileBase = (): string => (state.environment ?? 'energyrecorder').replace(/[^A-Za-z0-9._-]+/g, '_');

ui.liveCsv.addEventListener('click', () =>
  download(`${fileBase()}-live-${stamp()}.csv`, 'text/csv', samplesToCsv(chart.visibleSamples())),
);
ui.liveJson.addEventListener('click', () =>
  download(
    `${fileBase()}-live-${stamp()}.json`,
    'application/json',
    JSON.stringify({ environment: state.environment, samples: chart.visibleSamples() }, null, 2),
  ),
);
ui.sessionsCsv.addEventListener('click', () =>
  download(`${fileBase()}-sessions.csv`, 'text/csv', sessionsToCsv(state.sessions)),
);
ui.sessionsJson.addEventListener('click', () =>
  download(
    `${fileBase()}-sessions.json`,
    'application/json',
    JSON.stringify({ environment: state.environment, sessions: state.sessions }, null, 2),
  ),
);
ui.reportCsv.addEventListener('click', () => {
  const report = state.report;
  if (report === undefined) return;
  const session = { scenario: report.scenario, startNs: report.startNs };
  fetchReportCsv(report.environment, session)
    .then((csv) => download(`${fileBase()}-report-${report.startNs}.csv`, 'text/csv', csv))
    .catch((err: unknown) => showMessage(`Could not download the report CSV (${describeError(err)}).`));
});
ui.reportJson.addEventListener('click', () => {
  if (state.report !== undefined) {
    download(`${fileBase()}-report-${state.report.startNs}.json`, 'application/json', JSON.stringify(state.report, null, 2));
  }
});

// A running session's report grows; refresh it while it is shown.
window.setInterval(() => {
  if (state.report?.running === true && document.visibilityState === 'visible') void loadReport();
}, 5000);

const fromHash = new URLSearchParams(location.hash.slice(1)).get('environment');
renderEnvironments();
renderNowRunning();
connectGlobalStream();
if (fromHash !== null && fromHash !== '') selectEnvironment(fromHash);
void loadEnvironments();
