import { REPORT_CSV_HEADER, reportToCsv, type EnergyReport, type EquipmentEnergy } from '@energyrecorder/core';

const eq = (equipment: string, energyJoules: number, avgWatts: number | null): EquipmentEnergy => ({
  equipment,
  energyJoules,
  energyWh: energyJoules / 3600,
  avgWatts,
  maxWatts: avgWatts,
  minWatts: avgWatts,
  durationS: 10,
  coveragePct: 100,
  sampleCount: 11,
  longestGapS: 0,
  gapCount: 0,
});

describe('reportToCsv', () => {
  it('writes step rows then session rows under the contract header', () => {
    const report: EnergyReport = {
      environment: 'pod',
      scenario: 'functest',
      startNs: 0,
      endNs: 10e9,
      running: false,
      totals: { energyJoules: 3600, energyWh: 1, durationS: 10 },
      steps: [{ step: 'tempest', startNs: 0, endNs: 10e9, energyJoules: 3600, energyWh: 1, equipments: [eq('srv-1', 3600, 360)] }],
      equipments: [eq('srv-1', 3600, 360)],
    };
    expect(reportToCsv(report).split('\r\n')).toEqual([
      REPORT_CSV_HEADER,
      'step,tempest,srv-1,3600,1,360,360,360,10,100,11,0',
      'session,,srv-1,3600,1,360,360,360,10,100,11,0',
      '',
    ]);
  });

  it('quotes separators, neutralises formula prefixes and leaves null watts empty', () => {
    const report: EnergyReport<string> = {
      environment: 'pod',
      scenario: 's',
      startNs: '1',
      endNs: null,
      running: true,
      totals: { energyJoules: 0, energyWh: 0, durationS: 0 },
      steps: [{ step: '=cmd', startNs: '1', endNs: null, energyJoules: 0, energyWh: 0, equipments: [eq('a,"b"', 0, null)] }],
      equipments: [],
    };
    expect(reportToCsv(report).split('\r\n')[1]).toBe(`step,'=cmd,"a,""b""",0,0,,,,10,100,11,0`);
  });
});
