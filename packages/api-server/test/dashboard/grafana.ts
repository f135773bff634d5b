import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Path of the Grafana dashboard shipped for InfluxDB users. */
export const GRAFANA_DASHBOARD = join(__dirname, '..', '..', '..', '..', 'docs', 'grafana', 'energyrecorder-influxdb.json');

/** One InfluxQL query of the dashboard, with where it comes from. */
export interface DashboardQuery {
  where: string;
  query: string;
}

interface Target {
  query?: unknown;
  datasource?: { uid?: unknown };
}

/** Reads the dashboard and lists every InfluxQL query in it: panel targets, annotations and variables. */
export function loadDashboard(): { json: Record<string, unknown>; queries: DashboardQuery[]; datasourceUids: string[] } {
  const json = JSON.parse(readFileSync(GRAFANA_DASHBOARD, 'utf8')) as Record<string, unknown>;
  const queries: DashboardQuery[] = [];
  const uids: string[] = [];
  const panels = (json['panels'] ?? []) as Array<{ title: string; targets?: Target[]; datasource?: { uid?: unknown } }>;
  for (const panel of panels) {
    uids.push(String(panel.datasource?.uid));
    for (const t of panel.targets ?? []) {
      uids.push(String(t.datasource?.uid));
      queries.push({ where: `panel "${panel.title}"`, query: String(t.query) });
    }
  }
  const annotations = ((json['annotations'] as { list: Array<Target & { name: string; type?: string }> }).list ?? []).filter(
    (a) => a.type !== 'dashboard',
  );
  for (const a of annotations) {
    uids.push(String(a.datasource?.uid));
    queries.push({ where: `annotation "${a.name}"`, query: String(a.query) });
  }
  const vars = (json['templating'] as { list: Array<Target & { name: string }> }).list;
  for (const v of vars) {
    uids.push(String(v.datasource?.uid));
    queries.push({ where: `variable $${v.name}`, query: String(v.query) });
  }
  return { json, queries, datasourceUids: uids };
}

/** Replaces Grafana's macros and variables the way Grafana does for a single selected value or "All". */
export function interpolate(query: string, values: Record<string, string | undefined>): string {
  return query
    .replace(/\$timeFilter/g, 'time >= now() - 1h AND time <= now() + 1h')
    .replace(/\$__interval/g, '1s')
    .replace(/\$(environment|scenario|step|equipement)/g, (_m, name: string) => {
      const v = values[name];
      return v === undefined ? '.*' : v.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    });
}
