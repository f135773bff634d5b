import { compareReport } from '../src/demo.js';
import { LoadProfile } from '../src/load-profile.js';
import {
  COMPARISON_CSV_HEADER,
  comparisonToCsv,
  deviationPct,
  formatComparisonTable,
  TOTAL_STEP,
  type ComparisonRow,
} from '../src/report-table.js';
import type { EnergyReport } from '@energyrecorder/sdk';

const row: ComparisonRow = {
  scenario: 'functest',
  step: 'tempest',
  equipment: 'server-1',
  energyJoules: 1062.7,
  energyWh: 1062.7 / 3600,
  avgWatts: 235.4,
  peakWatts: 376.6,
  coveragePct: 100,
  expectedJoules: 1061.8,
  deviationPct: deviationPct(1062.7, 1061.8),
};

describe('report-table', () => {
  it('computes a signed percentage when measured and expected differ', () => {
    expect(deviationPct(101, 100)).toBeCloseTo(1, 12);
    expect(deviationPct(99, 100)).toBeCloseTo(-1, 12);
    expect(deviationPct(0, 0)).toBe(0);
  });

  it('aligns every column under its header when formatting a table', () => {
    const lines = formatComparisonTable([row, { ...row, step: TOTAL_STEP, equipment: 'switch-1' }]).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^scenario\s+step\s+equipment\s+energy J\s+energy Wh/);
    expect(lines[2]).toContain('1062.7');
    expect(lines[2]).toContain('+0.085');
    const headerEnd = (lines[0] as string).indexOf('diff %') + 'diff %'.length;
    expect((lines[2] as string).length).toBe(headerEnd);
  });

  it('writes one CSV line per row with the header first when exporting', () => {
    const csv = comparisonToCsv([row, { ...row, step: 'a,"b"', avgWatts: null }]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(COMPARISON_CSV_HEADER);
    expect(lines[1]?.startsWith('functest,tempest,server-1,1062.7,')).toBe(true);
    expect(lines[2]).toContain('"a,""b"""');
    expect(lines[2]).toContain(',,376.6,');
    expect(lines[3]).toBe('');
  });
});

describe('compareReport', () => {
  it('compares each step and the session with the exact profile energy when given a report', () => {
    const t0 = 1_700_000_000_000;
    const profile = new LoadProfile(100);
    profile.addBurst({ startMs: t0 + 1000, durationMs: 4000, peakWatts: 200 });
    const eq = (energyJoules: number) => ({
      equipment: 'server-1',
      energyJoules,
      energyWh: energyJoules / 3600,
      avgWatts: null,
      maxWatts: null,
      minWatts: null,
      durationS: 6,
      coveragePct: 100,
      sampleCount: 6,
      longestGapS: 0,
      gapCount: 0,
    });
    const report: EnergyReport = {
      environment: 'demo-pod',
      scenario: 'functest',
      startNs: t0 * 1e6,
      endNs: (t0 + 6000) * 1e6,
      running: false,
      totals: { energyJoules: 1000, energyWh: 1000 / 3600, durationS: 6 },
      steps: [{ step: 'load', startNs: t0 * 1e6, endNs: (t0 + 6000) * 1e6, energyJoules: 1000, energyWh: 0, equipments: [eq(1000)] }],
      equipments: [eq(1010), { ...eq(5), equipment: 'not-in-rack' }],
    };
    const rows = compareReport(report, { machines: [{ id: 'server-1', url: 'http://x', idleWatts: 100, loadFactor: 1, profile }] }, t0 + 7000);
    expect(rows.map((r) => r.step)).toEqual(['load', TOTAL_STEP]);
    expect(rows[0]?.expectedJoules).toBeCloseTo(1000, 9);
    expect(rows[0]?.deviationPct).toBeCloseTo(0, 9);
    expect(rows[1]?.deviationPct).toBeCloseTo(1, 9);
  });
});
