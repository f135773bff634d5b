import { GRAFANA_DASHBOARD, interpolate, loadDashboard } from './grafana.js';

describe('Grafana dashboard for InfluxDB users', () => {
  const { json, queries, datasourceUids } = loadDashboard();

  it('asks for the InfluxDB data source on import instead of naming one of ours', () => {
    expect(json['__inputs']).toEqual([expect.objectContaining({ name: 'DS_INFLUXDB', pluginId: 'influxdb' })]);
    expect(new Set(datasourceUids)).toEqual(new Set(['${DS_INFLUXDB}']));
    expect(GRAFANA_DASHBOARD.endsWith('docs/grafana/energyrecorder-influxdb.json')).toBe(true);
  });

  it('filters every power query by environment, scenario, step and equipment on the original schema', () => {
    const power = queries.filter((q) => q.query.includes('"SensorMeasurement"') && q.where.startsWith('panel'));
    expect(power.length).toBeGreaterThanOrEqual(4);
    for (const q of power) {
      for (const tag of ['environment', 'scenario', 'step', 'equipement']) expect(q.query).toContain(`"${tag}" =~ /^$${tag}$/`);
      expect(q.query).toContain(`"sensor" = 'power'`);
      expect(q.query).toContain('$timeFilter');
    }
  });

  it('draws scenario changes as annotations from RunningScenarios', () => {
    const annotation = queries.find((q) => q.where.startsWith('annotation'));
    expect(annotation?.query).toContain('"running_scenarios_rp"."RunningScenarios"');
    const vars = (json['templating'] as { list: Array<{ name: string }> }).list.map((v) => v.name);
    expect(vars).toEqual(['environment', 'scenario', 'step', 'equipement']);
  });

  it('escapes regex characters when a variable value is substituted', () => {
    expect(interpolate('/^$environment$/', { environment: 'pod.1/a' })).toBe('/^pod\\.1\\/a$/');
    expect(interpolate('/^$step$/', {})).toBe('/^.*$/');
  });
});
