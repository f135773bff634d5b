import { createDashboard } from '../../src/dashboard/attach.js';
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

  it('sends no power but session changes of every environment when a subscriber names none', () => {
    const hub = createLiveHub();
    const events: LiveEvent[] = [];
    const off = hub.subscribe({}, (e) => events.push(e));
    hub.publishMeasurements([point('a', 1, 10)]);
    hub.publishSession({ environment: 'pod2', scenario: 's', step: 'x', started: true, timeNs: 5n });
    expect(events.filter((e) => e.type !== 'environments')).toEqual([
      { type: 'session', data: { environment: 'pod2', scenario: 's', step: 'x', started: true, timeNs: 5 } },
    ]);
    expect(hub.subscriberCount).toBe(1);
    off();
    off();
    expect(hub.subscriberCount).toBe(0);
  });

  it('replays the recent samples and the last session when a late subscriber asks for the backlog', () => {
    const hub = createLiveHub({ backlogSeconds: 10, backlogSamplesPerEquipment: 5, now: () => 30_000 });
    hub.publishSession({ environment: 'pod1', scenario: 'sc', step: 'st', started: true, timeNs: 0 });
    for (let s = 0; s < 30; s++) hub.publishMeasurements([point('a', s, s * 1e9)]);
    const backlog = hub.backlog('pod1');
    expect(backlog.state.session?.scenario).toBe('sc');
    expect(backlog.state.equipments).toEqual(['a']);
    expect(backlog.power[0]?.samples.map(([, w]) => w)).toEqual([25, 26, 27, 28, 29]);
    expect(hub.backlog('unknown')).toEqual({ state: { environment: 'unknown', equipments: [] }, power: [], nowNs: 30e9 });
  });

  it('forgets the least recently active environment when more than the limit send data', () => {
    const hub = createLiveHub({ maxEnvironments: 2 });
    hub.publishMeasurements([point('a', 1, 1, { environment: 'e1' })]);
    hub.publishMeasurements([point('a', 1, 1, { environment: 'e2' })]);
    hub.publishMeasurements([point('a', 1, 2, { environment: 'e1' })]);
    hub.publishMeasurements([point('a', 1, 1, { environment: 'e3' })]);
    expect(hub.environments().map((e) => e.environment)).toEqual(['e3', 'e1']);
  });

  it('announces an environment that only sends power to subscribers of every environment when it first does', () => {
    const hub = createLiveHub();
    const events: LiveEvent[] = [];
    hub.subscribe({}, (e) => events.push(e));
    const now = Date.now() * 1e6;
    hub.publishMeasurements([point('a', 1, now, { environment: 'power-only' })]);
    hub.publishMeasurements([point('b', 2, now, { environment: 'power-only' })]);
    hub.publishSession({ environment: 'power-only', scenario: 's', step: 'x', started: true, timeNs: now });
    // Announced once, when it first sent power; its later session change is a session event.
    expect(events.map((e) => e.type)).toEqual(['environments', 'session']);
    expect(events[0]).toEqual({
      type: 'environments',
      data: { environments: [{ environment: 'power-only', equipments: ['a'], lastSampleNs: now }] },
    });
  });

  it('streams and keeps power in kW, mW and MW as watts when a meter reports in those units', () => {
    const hub = createLiveHub({ now: () => 1000 });
    const events: LiveEvent[] = [];
    hub.subscribe({ environment: 'pod1' }, (e) => events.push(e));
    hub.publishMeasurements([
      point('kw', 1.5, 1e9, { unit: 'kW' }),
      point('mw', 2500, 1e9, { unit: 'mW' }),
      point('big', 0.002, 1e9, { unit: 'MW' }),
      point('w', 7, 1e9),
      point('other', 9, 1e9, { unit: 'Wh' }),
    ]);
    const watts = Object.fromEntries(events.map((e) => [(e.data as { equipment: string }).equipment, (e.data as { samples: number[][] }).samples[0]?.[1]]));
    expect(watts).toEqual({ kw: 1500, mw: 2.5, big: 2000, w: 7 });
    expect(hub.backlog('pod1').power.find((p) => p.equipment === 'kw')?.samples).toEqual([[1e9, 1500]]);
  });

  it('passes readings in every power unit to the hub when the dashboard gets a packed batch event', () => {
    const dashboard = createDashboard({ hubOptions: { now: () => 1000 } });
    const events: LiveEvent[] = [];
    dashboard.hub.subscribe({ environment: 'pod1' }, (e) => events.push(e));
    const readings = [
      { sensor: 'power', unit: 'kW', value: 1.5, timestampNs: 1e9 },
      { sensor: 'power', unit: 'W', value: 10, timestampNs: 2e9 },
      { sensor: 'inlet', unit: 'Celsius', value: 22, timestampNs: 1e9 },
    ];
    dashboard.onEvent({
      type: 'measurements',
      environment: 'pod1',
      equipment: 'pdu',
      scenario: 'sc',
      step: 'st',
      readings,
      readingsOf: (sensor, unit) => readings.filter((r) => r.sensor === sensor && r.unit === unit),
    });
    expect(events).toHaveLength(1);
    expect((events[0]?.data as { samples: unknown }).samples).toEqual([[2e9, 10], [1e9, 1500]]);
  });

  it('keeps its memory bounded when many equipments send a single reading each', () => {
    const hub = createLiveHub({ maxSamples: 100_000 });
    const now = Date.now() * 1e6;
    for (let e = 0; e < 40; e++) {
      for (let q = 0; q < 500; q++) hub.publishMeasurements([point(`eq-${q}`, 1, now, { environment: `env-${e}` })]);
    }
    const stats = hub.stats();
    // A ring starts small: 20,000 one-reading equipments would take 20,000 × 1,800 samples with full-size rings.
    expect(stats.capacitySamples).toBeLessThanOrEqual(100_000);
    expect(stats.retainedBytes).toBe(stats.capacitySamples * 16);
    expect(stats.equipments).toBeGreaterThan(0);
    expect(stats.equipments).toBeLessThanOrEqual(100_000 / 16);
    // The least recently active went first: the newest environment is whole, the first one is gone.
    expect(hub.backlog('env-39').power).toHaveLength(500);
    expect(hub.backlog('env-0').power).toHaveLength(0);
  });

  it('grows an equipment ring as it keeps sending, up to the per-equipment limit', () => {
    const hub = createLiveHub({ backlogSamplesPerEquipment: 1000, now: () => 1e6 });
    hub.publishMeasurements([point('a', 1, 1)]);
    expect(hub.stats().capacitySamples).toBe(16);
    for (let s = 0; s < 5000; s++) hub.publishMeasurements([point('a', s, 1e9 + s * 1e6)]);
    expect(hub.stats()).toMatchObject({ capacitySamples: 1000, samples: 1000 });
    const samples = hub.backlog('pod1').power[0]?.samples ?? [];
    expect(samples).toHaveLength(1000);
    expect(samples[0]?.[1]).toBe(4000);
    expect(samples[999]?.[1]).toBe(4999);
  });

  it('forgets the least recently active equipment and still streams a new one when an environment is full', () => {
    const hub = createLiveHub({ maxEquipmentsPerEnvironment: 3 });
    const events: LiveEvent[] = [];
    hub.subscribe({ environment: 'pod1' }, (e) => events.push(e));
    const now = Date.now() * 1e6;
    hub.publishMeasurements([point('a', 1, now), point('b', 1, now), point('c', 1, now)]);
    hub.publishMeasurements([point('a', 2, now + 1)]);
    hub.publishMeasurements([point('d', 1, now + 2)]);
    expect(events.map((e) => (e.data as { equipment: string }).equipment)).toEqual(['a', 'b', 'c', 'a', 'd']);
    expect(hub.backlog('pod1').state.equipments.sort()).toEqual(['a', 'c', 'd']);
    expect(hub.stats().equipments).toBe(3);
  });

  it('keeps the backlog of a healthy meter when another meter sends a reading from the future', () => {
    const nowMs = 1_800_000_000_000;
    const hub = createLiveHub({ now: () => nowMs });
    const nowNs = nowMs * 1e6;
    // Fourteen minutes of a healthy meter, one sample a minute.
    for (let m = 14; m >= 0; m--) hub.publishMeasurements([point('healthy', m, nowNs - m * 60e9)]);
    const events: LiveEvent[] = [];
    hub.subscribe({ environment: 'pod1' }, (e) => events.push(e));
    // A meter whose clock is a day ahead: stored by the API, but not kept or streamed live.
    hub.publishMeasurements([point('fast', 5, nowNs + 86_400e9)]);
    // One within the tolerance is kept, but does not cut the healthy meter's backlog.
    hub.publishMeasurements([point('slightly-fast', 5, nowNs + 240e9)]);
    expect(events.map((e) => (e.data as { equipment: string }).equipment)).toEqual(['slightly-fast']);
    const backlog = hub.backlog('pod1');
    expect(backlog.nowNs).toBe(nowNs);
    expect(backlog.power.find((p) => p.equipment === 'healthy')?.samples).toHaveLength(15);
    expect(backlog.power.map((p) => p.equipment)).toEqual(['healthy', 'slightly-fast']);
    expect(backlog.state.lastSampleNs).toBe(nowNs + 240e9);
  });
});
