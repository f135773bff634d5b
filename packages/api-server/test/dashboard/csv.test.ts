import { csvCell, reportToCsv, REPORT_CSV_HEADER, samplesToCsv } from '../../dashboard/src/csv.js';
import { REPORT_CSV_HEADER as API_HEADER } from '@energyrecorder/core';
import { nsToText, parseJsonKeepingNs } from '../../dashboard/src/ns.js';
import type { EquipmentEnergy, SessionReport } from '../../dashboard/src/types.js';

const eq = (equipment: string, energyJoules: number): EquipmentEnergy => ({
  equipment,
  energyJoules,
  energyWh: energyJoules / 3600,
  avgWatts: 100,
  maxWatts: 120,
  minWatts: 80,
  durationS: 10,
  coveragePct: 100,
  sampleCount: 11,
  longestGapS: 0,
  gapCount: 0,
});

describe('dashboard csv', () => {
  it('uses the same header as the API report when exporting a report', () => {
    expect(REPORT_CSV_HEADER).toBe(API_HEADER);
  });

  it('writes one row per step and equipment, then the session rows, when a report has two steps', () => {
    const report: SessionReport = {
      environment: 'pod1',
      scenario: 'sc',
      startNs: '1700000000000000000',
      endNs: '1700000020000000000',
      running: false,
      totals: { energyJoules: 3000, energyWh: 3000 / 3600, durationS: 20 },
      steps: [
        { step: 'a', startNs: '1', endNs: '2', energyJoules: 1000, energyWh: 1000 / 3600, equipments: [eq('srv,1', 1000)] },
        { step: 'b', startNs: '2', endNs: '3', energyJoules: 2000, energyWh: 2000 / 3600, equipments: [eq('srv,1', 2000)] },
      ],
      equipments: [eq('srv,1', 3000)],
    };
    const lines = reportToCsv(report).trimEnd().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(`step,a,"srv,1",1000,${1000 / 3600},100,120,80,10,100,11,0`);
    expect(lines[3]?.startsWith('session,,"srv,1",3000,')).toBe(true);
  });

  it('quotes and defuses cells when names hold quotes or start like a formula', () => {
    expect(csvCell('a"b')).toBe('"a""b"');
    expect(csvCell('=cmd()')).toBe("'=cmd()");
    expect(csvCell(null)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
  });

  it('writes integer ns times when exporting live samples', () => {
    expect(samplesToCsv([{ timeS: 1700000000.5, equipment: 'e', watts: 12.5 }])).toBe(
      'time_ns,equipment,power_w\r\n1700000000500000000,e,12.5\r\n',
    );
  });
});

describe('parseJsonKeepingNs', () => {
  it('turns ns fields into decimal text and leaves other numbers alone when parsing an answer', () => {
    const parsed = parseJsonKeepingNs('{"startNs": 1763776587123456789, "endNs": null, "energyWh": 1.5}') as Record<string, unknown>;
    expect(typeof parsed['startNs']).toBe('string');
    // Node 20 has no JSON source access, so the double's digits are used: exact to the double's precision.
    expect(Number(parsed['startNs'] as string)).toBe(Number('1763776587123456789'));
    expect(parsed['endNs']).toBeNull();
    expect(parsed['energyWh']).toBe(1.5);
    expect(nsToText(1.5e18)).toBe('1500000000000000000');
  });
});
