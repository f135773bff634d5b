import type { SessionSummary } from '@energyrecorder/core';
import { deriveSessions, type ScenarioEvent } from '../src/index.js';

const start = (scenario: string, timeNs: number, step = 'running'): ScenarioEvent => ({ environment: 'e', scenario, step, started: true, timeNs });
/** A DELETE: the API writes the running scenario and step with `started` false. */
const stop = (scenario: string, timeNs: number, step = 'running'): ScenarioEvent => ({ environment: 'e', scenario, step, started: false, timeNs });

/** Scenario, span and parent of each session, in the order derived. */
function spans(list: readonly SessionSummary[]): Array<[string, number, number | null, string | null]> {
  return list.map((s) => [s.scenario, s.startNs, s.endNs, s.parent === undefined ? null : `${s.parent.scenario}@${s.parent.startNs}`]);
}

describe('deriveSessions', () => {
  it('keeps the outer scenario one session across a nested one when the inner end restores it, with steps of both', () => {
    // The SDK's calls: A starts and sets a step, B starts inside it and sets its own, B's end re-submits A at the
    // step A had, A sets another step, A's end stops.
    const s = deriveSessions([
      start('A', 1),
      start('A', 2, 'warm'),
      start('B', 3),
      start('B', 4, 'b1'),
      start('A', 5, 'warm'),
      start('A', 6, 'cool'),
      stop('A', 7, 'cool'),
    ]);
    expect(s).toEqual([
      {
        scenario: 'A',
        startNs: 1,
        endNs: 7,
        running: false,
        steps: [
          { step: 'running', startNs: 1, endNs: 2 },
          { step: 'warm', startNs: 2, endNs: 6 },
          { step: 'cool', startNs: 6, endNs: 7 },
        ],
      },
      {
        scenario: 'B',
        startNs: 3,
        endNs: 5,
        running: false,
        steps: [
          { step: 'running', startNs: 3, endNs: 4 },
          { step: 'b1', startNs: 4, endNs: 5 },
        ],
        parent: { scenario: 'A', startNs: 1 },
      },
    ]);
  });

  it('makes the re-submitted step a step change of the outer session when it differs from the one it had', () => {
    // A step of A set while B was shown is sent by the SDK with the restore.
    const s = deriveSessions([start('A', 1), start('B', 2), start('A', 3, 'later'), stop('A', 4, 'later')]);
    expect(s[0]?.steps).toEqual([
      { step: 'running', startNs: 1, endNs: 3 },
      { step: 'later', startNs: 3, endNs: 4 },
    ]);
    expect(spans(s)).toEqual([
      ['A', 1, 4, null],
      ['B', 2, 3, 'A@1'],
    ]);
  });

  it('nests three deep when each end restores the one it interrupted', () => {
    const s = deriveSessions([start('A', 1), start('B', 2), start('C', 3), start('B', 4), start('A', 5), stop('A', 6)]);
    expect(spans(s)).toEqual([
      ['A', 1, 6, null],
      ['B', 2, 5, 'A@1'],
      ['C', 3, 4, 'B@2'],
    ]);
    expect(s.every((x) => !x.running)).toBe(true);
  });

  it('ends every session above a restored one at the restore when it is suspended two levels down', () => {
    const s = deriveSessions([start('A', 1), start('B', 2), start('C', 3, 'c1'), start('A', 4), stop('A', 5)]);
    expect(spans(s)).toEqual([
      ['A', 1, 5, null],
      ['B', 2, 4, 'A@1'],
      ['C', 3, 4, 'B@2'],
    ]);
    expect(s[1]?.steps).toEqual([{ step: 'running', startNs: 2, endNs: 4 }]);
    expect(s[2]?.steps).toEqual([{ step: 'c1', startNs: 3, endNs: 4 }]);
  });

  it('shows the outer session running and enclosing the inner one while the inner one runs', () => {
    const s = deriveSessions([start('A', 1), start('A', 2, 'warm'), start('B', 3)]);
    expect(s).toEqual([
      {
        scenario: 'A',
        startNs: 1,
        endNs: null,
        running: true,
        steps: [
          { step: 'running', startNs: 1, endNs: 2 },
          { step: 'warm', startNs: 2, endNs: null },
        ],
      },
      { scenario: 'B', startNs: 3, endNs: null, running: true, steps: [{ step: 'running', startNs: 3, endNs: null }], parent: { scenario: 'A', startNs: 1 } },
    ]);
  });

  it('ends a suspended session where the next one began when a stop comes without a restore (an overwrite)', () => {
    const events = [start('A', 1), start('A', 2, 's1'), start('B', 3), start('C', 4), stop('C', 5)];
    // Before the stop, A and B are suspended, provisionally enclosing what runs above them.
    expect(spans(deriveSessions(events.slice(0, 4)))).toEqual([
      ['A', 1, null, null],
      ['B', 3, null, 'A@1'],
      ['C', 4, null, 'B@3'],
    ]);
    // The stop shows nothing was nested after all: the original's overwrite, as before nesting was read.
    const s = deriveSessions(events);
    expect(s).toEqual([
      {
        scenario: 'A',
        startNs: 1,
        endNs: 3,
        running: false,
        steps: [
          { step: 'running', startNs: 1, endNs: 2 },
          { step: 's1', startNs: 2, endNs: 3 },
        ],
      },
      { scenario: 'B', startNs: 3, endNs: 4, running: false, steps: [{ step: 'running', startNs: 3, endNs: 4 }] },
      { scenario: 'C', startNs: 4, endNs: 5, running: false, steps: [{ step: 'running', startNs: 4, endNs: 5 }] },
    ]);
  });

  it('keeps the confirmed part of a resumed session and cuts it at the next overwrite when a stop follows', () => {
    // B nested in A (restored at 3); then C starts and is stopped without restoring A.
    const s = deriveSessions([start('A', 1), start('B', 2), start('A', 3), start('C', 4), stop('C', 5)]);
    expect(spans(s)).toEqual([
      ['A', 1, 4, null],
      ['B', 2, 3, 'A@1'],
      ['C', 4, 5, null],
    ]);
  });

  it('ends the outer session at the stop when the stop comes after the restore', () => {
    const s = deriveSessions([start('A', 1), start('B', 2), start('A', 3), stop('A', 4), start('B', 5), stop('B', 6)]);
    expect(spans(s)).toEqual([
      ['A', 1, 4, null],
      ['B', 2, 3, 'A@1'],
      ['B', 5, 6, null],
    ]);
  });

  it('treats a stop while nested as the end of every running session, nested ones as overwritten', () => {
    const events = [start('A', 1), start('B', 2, 'b'), stop('B', 3, 'b'), start('A', 4), stop('A', 5)];
    expect(spans(deriveSessions(events.slice(0, 2)))).toEqual([
      ['A', 1, null, null],
      ['B', 2, null, 'A@1'],
    ]);
    const s = deriveSessions(events);
    expect(spans(s)).toEqual([
      ['A', 1, 2, null],
      ['B', 2, 3, null],
      ['A', 4, 5, null],
    ]);
  });

  it('reads a later unrelated start after a crashed inner runner as nested in it, and a stop as overwrites', () => {
    // B's runner died: nothing restores A. C is started by someone else and stopped (its runner saw nothing to restore).
    const overwritten = deriveSessions([start('A', 1), start('B', 2), start('C', 3), stop('C', 4)]);
    expect(spans(overwritten)).toEqual([
      ['A', 1, 2, null],
      ['B', 2, 3, null],
      ['C', 3, 4, null],
    ]);
    // C run by an SDK restores B, which the server still showed; the stop then ends B there and A at B's start.
    const restored = deriveSessions([start('A', 1), start('B', 2), start('C', 3), start('B', 4), stop('B', 5)]);
    expect(spans(restored)).toEqual([
      ['A', 1, 2, null],
      ['B', 2, 5, null],
      ['C', 3, 4, 'B@2'],
    ]);
  });

  it('makes nothing of repeated identical starts of the running or restored scenario', () => {
    const s = deriveSessions([start('A', 1), start('A', 2), start('B', 3), start('B', 4), start('A', 5), start('A', 6), stop('A', 7)]);
    expect(s).toEqual([
      { scenario: 'A', startNs: 1, endNs: 7, running: false, steps: [{ step: 'running', startNs: 1, endNs: 7 }] },
      { scenario: 'B', startNs: 3, endNs: 5, running: false, steps: [{ step: 'running', startNs: 3, endNs: 5 }], parent: { scenario: 'A', startNs: 1 } },
    ]);
  });

  it('nests a scenario again inside the same outer one after its first run ended', () => {
    const s = deriveSessions([start('A', 1), start('B', 2), start('A', 3), start('B', 4), start('A', 5), stop('A', 6)]);
    expect(spans(s)).toEqual([
      ['A', 1, 6, null],
      ['B', 2, 3, 'A@1'],
      ['B', 4, 5, 'A@1'],
    ]);
  });

  it('keeps at most maxDepth sessions suspended, the oldest ending as overwritten, when starts never restore', () => {
    const events = Array.from({ length: 40 }, (_, i) => start(`S${i}`, i + 1));
    const s = deriveSessions(events, { maxDepth: 32 });
    expect(s).toHaveLength(40);
    expect(s.filter((x) => x.running)).toHaveLength(32);
    expect(spans(s.slice(0, 9))).toEqual([
      ...Array.from({ length: 8 }, (_, i): [string, number, number, null] => [`S${i}`, i + 1, i + 2, null]),
      ['S8', 9, null, null],
    ]);
    expect(s[9]?.parent).toEqual({ scenario: 'S8', startNs: 9 });
    // S0 is no longer on the stack: starting it again is a new session on top, not a restore.
    const again = deriveSessions([...events, start('S0', 41)], { maxDepth: 32 });
    expect(again).toHaveLength(41);
    expect(again[40]?.parent).toEqual({ scenario: 'S39', startNs: 40 });
  });

  it('derives a long log of starts that never stop in linear time when the stack is bounded', () => {
    const events = Array.from({ length: 200_000 }, (_, i) => start(`S${i % 1000}`, i + 1));
    const t0 = performance.now();
    const s = deriveSessions(events);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(s.filter((x) => x.running)).toHaveLength(32);
  });
});
