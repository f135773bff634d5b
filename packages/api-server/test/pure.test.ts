import { reportToCsv } from '@energyrecorder/core';
import { deriveSessions, measurementTopic, buildReport } from '../src/index.js';
import { assignTimestamps } from '../src/internal/timestamps.js';
import { parseBody, measurementPostSchema, timestampProblem } from '../src/internal/validation.js';

const ev = (scenario: string, step: string, started: boolean, timeNs: number) => ({ environment: 'e', scenario, step, started, timeNs });

describe('deriveSessions', () => {
  it('turns a restart of the running scenario into a step change and another scenario into a new session', () => {
    const s = deriveSessions([ev('A', 'running', true, 1), ev('A', 's1', true, 2), ev('B', 'running', true, 3), ev('B', 'running', false, 4)]);
    expect(s).toEqual([
      { scenario: 'A', startNs: 1, endNs: 3, running: false, steps: [{ step: 'running', startNs: 1, endNs: 2 }, { step: 's1', startNs: 2, endNs: 3 }] },
      { scenario: 'B', startNs: 3, endNs: 4, running: false, steps: [{ step: 'running', startNs: 3, endNs: 4 }] },
    ]);
  });
});

describe('assignTimestamps', () => {
  it('offsets same-series same-time readings by their rank and is deterministic when called twice', () => {
    const t = 1.7e18;
    const items = [
      { sensor: 'a', unit: 'W', time: t },
      { sensor: 'a', unit: 'W', time: t },
      { sensor: 'b', unit: 'W', time: t },
      { sensor: 'a', unit: 'W' },
    ];
    const one = assignTimestamps(items, t);
    expect(one.map((x) => BigInt(x))).toEqual([BigInt(t), BigInt(t) + 1n, BigInt(t), BigInt(t) + 2n]);
    expect(assignTimestamps(items, t)).toEqual(one);
  });

  it('keeps client times as they are when no two readings share a time', () => {
    const items = [{ sensor: 'a', unit: 'W', time: 2e18 }, { sensor: 'a', unit: 'W', time: 2e18 + 1024 }, { sensor: 'a', unit: 'W' }];
    expect(assignTimestamps(items, 3e18)).toEqual([2e18, 2e18 + 1024, 3e18]);
  });
});

describe('measurementTopic', () => {
  it('replaces wildcard, separator and control characters when building a topic', () => {
    expect(measurementTopic('base', 'p+1', 'srv#2', 'a/b\nc')).toBe('base/p_1/srv_2/a_b_c');
    expect(measurementTopic('', 'p', 'e', 's')).toBe('/p/e/s');
  });
});

describe('validation', () => {
  it('names the offending fields when a batch is malformed', () => {
    const r = parseBody(measurementPostSchema, { environment: 1, measurements: [{ sensor: 's', unit: 'W' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.body.errors).sort()).toEqual(['environment', 'measurements.0.value']);
  });

  it('says which unit a timestamp looks like when it is not ns', () => {
    expect(timestampProblem(1_700_000_000)).toMatch(/seconds/);
    expect(timestampProblem(1_700_000_000_000)).toMatch(/milliseconds/);
    expect(timestampProblem(1.7e18)).toBeUndefined();
  });
});

describe('reportToCsv', () => {
  it('quotes names with commas and neutralises formula prefixes when writing rows', () => {
    const session = { scenario: 'S', startNs: 0, endNs: 10e9, running: false, steps: [{ step: '=cmd', startNs: 0, endNs: 10e9 }] };
    const samples = [0, 10e9].map((t) => ({ equipment: 'a,b', timestampNs: t, powerWatts: 10 }));
    const csv = reportToCsv(buildReport('e', session, samples, 10e9));
    const lines = csv.trim().split('\r\n');
    expect(lines[1]).toMatch(/^step,'=cmd,"a,b",100,/);
    expect(lines[2]).toMatch(/^session,,"a,b",100,/);
  });
});
