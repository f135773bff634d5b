import { createLiveHub, type LiveEvent } from '../../src/dashboard/live-hub.js';

const point = (equipment: string, value: number, timeNs: bigint | number, extra: Partial<{ sensor: string; unit: string; environment: string }> = {}) => ({
  equipment,
  environment: extra.environment ?? 'pod1',
  scenario: 'sc',
  step: 'st',
  sensor: extra.sensor ?? 'power',
  unit: extra.unit ?? 'W',
  value,
  timeNs,
});

describe('createLiveHub', () => {
  it('streams one power message per equipment when a batch is published', () => {
    const hub = createLiveHub();
    const events: LiveEvent[] = [];
    hub.subscribe({ environment: 'pod1' }, (e) => events.push(e));
    hub.publishMeasurements([point('a', 1, 10n), point('a', 2, 20n), point('b', 3, 10n), point('a', 50, 30n, { sensor: 'temp', unit: 'Celsius' })]);
    expect(events).toEqual([
      { type: 'power', data: { environment: 'pod1', equipment: 'a', scenario: 'sc', step: 'st', samples: [[10, 1], [20, 2]] } },
      { type: 'power', data: { environment: 'pod1', equipment: 'b', scenario: 'sc', step: 'st', samples: [[10, 3]] } },
    ]);
  });

  it('sends nothing of other environments when a subscriber filters on one', () => {
    const hub = createLiveHub();
    const events: LiveEvent[] = [];
    hub.subscribe({ environment: 'pod1' }, (e) => events.push(e));
    hub.publishMeasurements([point('a', 1, 10, { environment: 'pod2' })]);
    hub.publishSession({ environment: 'pod2', scenario: 's', step: 'x', started: true, timeNs: 5n });
    expect(events).toEqual([]);
  });

  it('sends only session changes of every environment when a subscriber names none', () => {
    const hub = createLiveHub();
    const events: LiveEvent[] = [];
    const off = hub.subscribe({}, (e) => events.push(e));
    hub.publishMeasurements([point('a', 1, 10)]);
    hub.publishSession({ environment: 'pod2', scenario: 's', step: 'x', started: true, timeNs: 5n });
    expect(events).toEqual([{ type: 'session', data: { environment: 'pod2', scenario: 's', step: 'x', started: true, timeNs: 5 } }]);
    expect(hub.subscriberCount).toBe(1);
    off();
    off();
    expect(hub.subscriberCount).toBe(0);
  });

  it('replays the recent samples and the last session when a late subscriber asks for the backlog', () => {
    const hub = createLiveHub({ backlogSeconds: 10, backlogSamplesPerEquipment: 5 });
    hub.publishSession({ environment: 'pod1', scenario: 'sc', step: 'st', started: true, timeNs: 0 });
    for (let s = 0; s < 30; s++) hub.publishMeasurements([point('a', s, s * 1e9)]);
    const backlog = hub.backlog('pod1');
    expect(backlog.state.session?.scenario).toBe('sc');
    expect(backlog.state.equipments).toEqual(['a']);
    expect(backlog.power[0]?.samples.map(([, w]) => w)).toEqual([25, 26, 27, 28, 29]);
    expect(hub.backlog('unknown')).toEqual({ state: { environment: 'unknown', equipments: [] }, power: [] });
  });

  it('forgets the least recently active environment when more than the limit send data', () => {
    const hub = createLiveHub({ maxEnvironments: 2 });
    hub.publishMeasurements([point('a', 1, 1, { environment: 'e1' })]);
    hub.publishMeasurements([point('a', 1, 1, { environment: 'e2' })]);
    hub.publishMeasurements([point('a', 1, 2, { environment: 'e1' })]);
    hub.publishMeasurements([point('a', 1, 1, { environment: 'e3' })]);
    expect(hub.environments().map((e) => e.environment)).toEqual(['e3', 'e1']);
  });
});
