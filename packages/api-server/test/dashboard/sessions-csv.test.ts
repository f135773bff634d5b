import { SESSIONS_CSV_HEADER, sessionsToCsv } from '../../dashboard/src/csv.js';
import type { SessionSummary } from '../../dashboard/src/types.js';

describe('sessionsToCsv', () => {
  const sessions: SessionSummary[] = [
    {
      scenario: 'night,ly',
      startNs: '1795312345678901248',
      endNs: null,
      running: true,
      steps: [{ step: 'deploy', startNs: '1795312345678901248', endNs: null }],
    },
    {
      scenario: 'boot',
      startNs: '1795300000000000000',
      endNs: '1795300009000000000',
      running: false,
      steps: [
        { step: 'warmup', startNs: '1795300000000000000', endNs: '1795300004000000000' },
        { step: '=steady', startNs: '1795300004000000000', endNs: '1795300009000000000' },
      ],
    },
  ];

  it('writes one row per step with exact ns and empty open ends when sessions are listed', () => {
    const lines = sessionsToCsv(sessions).split('\r\n');
    expect(lines).toEqual([
      SESSIONS_CSV_HEADER,
      '"night,ly",1795312345678901248,,true,deploy,1795312345678901248,',
      'boot,1795300000000000000,1795300009000000000,false,warmup,1795300000000000000,1795300004000000000',
      // A step name that looks like a formula is defused, as in the report CSV.
      "boot,1795300000000000000,1795300009000000000,false,'=steady,1795300004000000000,1795300009000000000",
      '',
    ]);
  });

  it('writes only the header when there is no session', () => {
    expect(sessionsToCsv([])).toBe(`${SESSIONS_CSV_HEADER}\r\n`);
  });
});
