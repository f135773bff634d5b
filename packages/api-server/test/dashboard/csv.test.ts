import { csvCell, samplesToCsv } from '../../dashboard/src/csv.js';
import { nsToText, parseJsonKeepingNs } from '../../dashboard/src/ns.js';

describe('dashboard csv', () => {
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
