import { AdapterError, HttpStatusError, noopLogger } from '@energyrecorder/core';
import { normaliseUri } from '../../src/redfish/parsers.js';
import { MAX_COLLECTION_PAGES, REDISCOVER_MS, RedfishReader, type ResourceSource } from '../../src/redfish/reader.js';
import { cloneResources, loadRedfishFixture, mapSource, redfishFixtureNames } from '../fakes/redfish-tree.js';

const T = 1_700_000_000_000_000_000;

function readerFor(resources: Map<string, unknown>, opts: { power?: boolean; temperature?: boolean } = {}) {
  const source = mapSource(resources);
  const reader = new RedfishReader(source, {
    power: opts.power ?? true,
    temperature: opts.temperature ?? true,
    basePath: '',
    makeError: (message, code, cause) => new AdapterError(message, { adapterType: 'redfish', target: 'fixture', code, cause }),
  });
  return { reader, source };
}

const signal = new AbortController().signal;

describe('RedfishReader on vendor fixtures', () => {
  it.each(redfishFixtureNames())('reads whole-device power, its source and temperatures when given %s', async (name) => {
    const fx = loadRedfishFixture(name);
    const { reader } = readerFor(fx.resources);
    const readings = await reader.read(signal, T);
    const power = readings.find((r) => r.sensor === 'power');
    expect(power).toEqual({ sensor: 'power', unit: 'W', value: fx.expected.power, timestampNs: T, source: fx.expected.powerSource });
    const temps = Object.fromEntries(readings.filter((r) => r.unit === 'Celsius').map((r) => [r.sensor, r.value]));
    expect(temps).toEqual(fx.expected.temperatures);
    if (fx.expected.energy !== undefined) {
      expect(readings.find((r) => r.sensor === 'energy')).toMatchObject({ unit: 'kWh', value: fx.expected.energy });
    }
    const details = Object.fromEntries(readings.filter((r) => r.sensor.endsWith('/power')).map((r) => [r.sensor, r.value]));
    expect(details).toEqual(fx.expected.details ?? {});
  });
});

describe('RedfishReader fallbacks', () => {
  it('falls back from a null EnvironmentMetrics reading to legacy Power when the BMC has both', async () => {
    const res = cloneResources(loadRedfishFixture('dell-idrac9-6.10').resources);
    const em = res.get('/redfish/v1/Chassis/System.Embedded.1/EnvironmentMetrics') as { PowerWatts: { Reading: unknown } };
    em.PowerWatts.Reading = null;
    const { reader } = readerFor(res);
    const readings = await reader.read(signal, T);
    expect(readings.find((r) => r.sensor === 'power')).toMatchObject({ value: 310, source: 'Power' });
  });

  it('uses the next source when a source has the wrong type, and fails when every source is broken', async () => {
    const res = cloneResources(loadRedfishFixture('dell-idrac9-6.10').resources);
    (res.get('/redfish/v1/Chassis/System.Embedded.1/EnvironmentMetrics') as { PowerWatts: { Reading: unknown } }).PowerWatts.Reading = 'n/a';
    const { reader } = readerFor(res, { temperature: false });
    expect((await reader.read(signal, T))[0]).toMatchObject({ sensor: 'power', value: 310, source: 'Power' });
    (res.get('/redfish/v1/Chassis/System.Embedded.1/Power') as { PowerControl: { PowerConsumedWatts: unknown }[] }).PowerControl[0]!.PowerConsumedWatts = { v: 1 };
    await expect(reader.read(signal, T)).rejects.toMatchObject({
      code: 'ER_ADAPTER_PAYLOAD',
      message: expect.stringMatching(/PowerWatts\.Reading is "n\/a", not a number/),
    });
  });

  it('fails with a clear message when no chassis reports any power and temperatures are off', async () => {
    const res = cloneResources(loadRedfishFixture('synthetic-modern-bmc-1.0').resources);
    const m = res.get('/redfish/v1/Chassis/chassis/PowerSubsystem/PowerSupplies/PSU1/Metrics') as { InputPowerWatts: { Reading: unknown } };
    m.InputPowerWatts.Reading = null;
    const { reader } = readerFor(res, { temperature: false });
    await expect(reader.read(signal, T)).rejects.toThrow(/no power value this poll.*EnvironmentMetrics\.PowerWatts\.Reading is absent or null.*InputPowerWatts\.Reading is null/);
  });

  it.each([
    ['a PowerControl with component entries only', 'Power', { PowerControl: [{ PhysicalContext: 'Fan', PowerConsumedWatts: 40 }] }],
    ['a PowerControl without PowerConsumedWatts (limits only)', 'Power', { PowerControl: [{ PowerLimit: { LimitInWatts: 2000 } }] }],
    [
      'an EnvironmentMetrics PowerWatts without Reading',
      'EnvironmentMetrics',
      { PowerWatts: { DataSourceUri: '/redfish/v1/Chassis/Enclosure/Sensors/Power' } },
    ],
  ])('sums the contained chassis of an unmetered enclosure that has %s', async (_label, link, body) => {
    const res = cloneResources(loadRedfishFixture('synthetic-blade-enclosure-unmetered-1.0').resources);
    const uri = `/redfish/v1/Chassis/Enclosure/${link}`;
    (res.get('/redfish/v1/Chassis/Enclosure') as Record<string, unknown>)[link] = { '@odata.id': uri };
    res.set(uri, body);
    const { reader } = readerFor(res, { temperature: false });
    const values = Object.fromEntries((await reader.read(signal, T)).map((r) => [r.sensor, r.value]));
    expect(values).toEqual({ power: 750, 'Blade1/power': 400, 'Blade2/power': 350 });
  });

  it.each([
    ['PowerConsumedWatts: null on its Chassis entry', 'Power', { PowerControl: [{ PhysicalContext: 'Chassis', PowerConsumedWatts: null }] }],
    ['PowerWatts.Reading: null', 'EnvironmentMetrics', { PowerWatts: { Reading: null } }],
  ])('leaves the total out when the unmetered enclosure turns out metered with %s', async (_label, link, body) => {
    const res = cloneResources(loadRedfishFixture('synthetic-blade-enclosure-unmetered-1.0').resources);
    const uri = `/redfish/v1/Chassis/Enclosure/${link}`;
    (res.get('/redfish/v1/Chassis/Enclosure') as Record<string, unknown>)[link] = { '@odata.id': uri };
    res.set(uri, body);
    const { reader } = readerFor(res, { temperature: false });
    const values = Object.fromEntries((await reader.read(signal, T)).map((r) => [r.sensor, r.value]));
    expect(values).toEqual({ 'Blade1/power': 400, 'Blade2/power': 350 });
  });

  it('keeps other chassis readings and drops the total when one top-level chassis fails', async () => {
    const res = cloneResources(loadRedfishFixture('synthetic-blade-enclosure-1.0').resources);
    res.set('/redfish/v1/Chassis/Standalone/Power', { PowerControl: [{ PowerConsumedWatts: 'broken' }] });
    const { reader } = readerFor(res);
    const readings = await reader.read(signal, T);
    expect(readings.map((r) => r.sensor).sort()).toEqual(['Blade1/power', 'Blade2/power', 'Enclosure/power']);
  });

  it('leaves the total out, not under-reported, when a chassis cannot be read at discovery', async () => {
    const res = cloneResources(loadRedfishFixture('synthetic-blade-enclosure-1.0').resources);
    const inner = mapSource(res);
    let enclosureDown = true;
    const flaky: ResourceSource = {
      get(path, sig) {
        if (enclosureDown && normaliseUri(path) === '/redfish/v1/Chassis/Enclosure') {
          const cause = new HttpStatusError(`GET ${path}: HTTP 503`, { status: 503 });
          return Promise.reject(new AdapterError(`GET ${path}: HTTP 503`, { adapterType: 'redfish', target: 'f', code: 'ER_ADAPTER_HTTP', cause }));
        }
        return inner.get(path, sig);
      },
    };
    const reader = new RedfishReader(flaky, {
      power: true,
      temperature: false,
      basePath: '',
      makeError: (message, code, cause) => new AdapterError(message, { adapterType: 'redfish', target: 'f', code, cause }),
    });
    const partial = await reader.read(signal, T);
    expect(partial.find((r) => r.sensor === 'power')).toBeUndefined();
    expect(partial.map((r) => r.sensor).sort()).toEqual(['Blade1/power', 'Blade2/power', 'Standalone/power']);
    enclosureDown = false;
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')?.value).toBe(1150);
  });

  it('does not ask again for a source that answered 404 until the next discovery', async () => {
    const res = cloneResources(loadRedfishFixture('dell-idrac9-6.10').resources);
    res.delete('/redfish/v1/Chassis/System.Embedded.1/EnvironmentMetrics');
    const { reader, source } = readerFor(res, { temperature: false });
    await reader.read(signal, T);
    source.gets.length = 0;
    const again = await reader.read(signal, T);
    expect(again[0]).toMatchObject({ value: 310, source: 'Power' });
    expect(source.gets).toEqual(['/redfish/v1/Chassis/System.Embedded.1/Power']);
  });

  it('does not sum the other supplies when an active supply has no Metrics, and reads legacy Power instead', async () => {
    const res = cloneResources(loadRedfishFixture('synthetic-modern-bmc-1.0').resources);
    const psu1 = res.get('/redfish/v1/Chassis/chassis/PowerSubsystem/PowerSupplies/PSU1') as Record<string, unknown>;
    delete psu1['Metrics'];
    (res.get('/redfish/v1/Chassis/chassis') as Record<string, unknown>)['Power'] = { '@odata.id': '/redfish/v1/Chassis/chassis/Power' };
    res.set('/redfish/v1/Chassis/chassis/Power', { PowerControl: [{ PhysicalContext: 'Chassis', PowerConsumedWatts: 440 }] });
    const { reader, source } = readerFor(res, { temperature: false });
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')).toMatchObject({ value: 440, source: 'Power' });
    // The supply list is kept: a steady poll only looks again at the empty bay (PSU2) before falling through.
    source.gets.length = 0;
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')).toMatchObject({ value: 440, source: 'Power' });
    expect(source.gets).toEqual([
      '/redfish/v1/Chassis/chassis/EnvironmentMetrics',
      '/redfish/v1/Chassis/chassis/PowerSubsystem/PowerSupplies/PSU2',
      '/redfish/v1/Chassis/chassis/Power',
    ]);
  });

  it('reads ThermalSubsystem when the linked legacy Thermal resource answers 404', async () => {
    const res = cloneResources(loadRedfishFixture('synthetic-modern-bmc-1.0').resources);
    const chassis = res.get('/redfish/v1/Chassis/chassis') as Record<string, unknown>;
    chassis['Thermal'] = { '@odata.id': '/redfish/v1/Chassis/chassis/Thermal' };
    const { reader } = readerFor(res, { power: false });
    const temps = await reader.read(signal, T);
    expect(temps.length).toBeGreaterThan(0);
    expect(temps.every((r) => r.unit === 'Celsius' && r.source === 'ThermalSubsystem' && r.sensor.startsWith('chassis/'))).toBe(true);
  });

  it('emits only temperatures when power is switched off', async () => {
    const { reader } = readerFor(loadRedfishFixture('hpe-ilo4-2.80').resources, { power: false });
    const readings = await reader.read(signal, T);
    expect(readings.map((r) => r.sensor)).toEqual(['1/01-Inlet Ambient', '1/02-CPU 1']);
  });
});

describe('RedfishReader request count', () => {
  it('skips the service root at discovery when the conventional Chassis collection exists', async () => {
    const { reader, source } = readerFor(cloneResources(loadRedfishFixture('dell-idrac9-6.10').resources), { temperature: false });
    await reader.read(signal, T);
    expect(source.gets.map((g) => normaliseUri(g))).not.toContain('/redfish/v1');
  });

  it('makes one GET per chassis on a steady poll when temperatures are off', async () => {
    const res = new Map<string, unknown>([
      ['/redfish/v1/Chassis', { Members: [{ '@odata.id': '/redfish/v1/Chassis/A' }, { '@odata.id': '/redfish/v1/Chassis/B' }] }],
      ['/redfish/v1/Chassis/A', { Id: 'A', Power: { '@odata.id': '/redfish/v1/Chassis/A/Power' } }],
      ['/redfish/v1/Chassis/B', { Id: 'B', Power: { '@odata.id': '/redfish/v1/Chassis/B/Power' } }],
      ['/redfish/v1/Chassis/A/Power', { PowerControl: [{ PowerConsumedWatts: 100 }] }],
      ['/redfish/v1/Chassis/B/Power', { PowerControl: [{ PowerConsumedWatts: 50 }] }],
    ]);
    const { reader, source } = readerFor(res, { temperature: false });
    await reader.read(signal, T);
    source.gets.length = 0;
    const readings = await reader.read(signal, T);
    expect(readings.find((r) => r.sensor === 'power')?.value).toBe(150);
    expect([...source.gets].sort()).toEqual(['/redfish/v1/Chassis/A/Power', '/redfish/v1/Chassis/B/Power']);
  });

  it('finds the collection through the service root when the service puts it elsewhere', async () => {
    const res = cloneResources(loadRedfishFixture('dell-idrac9-6.10').resources);
    const collection = res.get('/redfish/v1/Chassis');
    res.delete('/redfish/v1/Chassis');
    res.set('/redfish/v1/Enclosures', collection);
    res.set('/redfish/v1', { Chassis: { '@odata.id': '/redfish/v1/Enclosures' } });
    const { reader } = readerFor(res, { temperature: false });
    const readings = await reader.read(signal, T);
    expect(readings.find((r) => r.sensor === 'power')).toMatchObject({ unit: 'W' });
  });
});

describe('RedfishReader paged collections', () => {
  const chassis = (id: string) => ({ Id: id, Power: { '@odata.id': `/redfish/v1/Chassis/${id}/Power` } });
  const watts = (w: number) => ({ PowerControl: [{ PhysicalContext: 'Chassis', PowerConsumedWatts: w }] });

  it('stops at a nextLink that loops back, and at the page bound, with a warning', async () => {
    const res = new Map<string, unknown>([
      ['/redfish/v1/Chassis', { Members: [{ '@odata.id': '/redfish/v1/Chassis/A' }], 'Members@odata.nextLink': '/redfish/v1/Chassis?page=2' }],
      ['/redfish/v1/Chassis?page=2', { Members: [{ '@odata.id': '/redfish/v1/Chassis/B' }], 'Members@odata.nextLink': '/redfish/v1/Chassis' }],
      ['/redfish/v1/Chassis/A', chassis('A')],
      ['/redfish/v1/Chassis/B', chassis('B')],
      ['/redfish/v1/Chassis/A/Power', watts(100)],
      ['/redfish/v1/Chassis/B/Power', watts(50)],
    ]);
    const warnings: string[] = [];
    const reader = new RedfishReader(mapSource(res), {
      power: true,
      temperature: false,
      basePath: '',
      logger: { ...noopLogger, warn: (_f, m) => warnings.push(m ?? '') },
      makeError: (message, code, cause) => new AdapterError(message, { adapterType: 'redfish', target: 'fixture', code, cause }),
    });
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')?.value).toBe(150);
    expect(warnings).toEqual([expect.stringMatching(/loops back/)]);

    // An endless chain of pages: read up to the bound, not forever.
    const endless = new Map<string, unknown>([['/redfish/v1/Chassis/A', chassis('A')], ['/redfish/v1/Chassis/A/Power', watts(100)]]);
    for (let i = 0; i < MAX_COLLECTION_PAGES + 5; i++) {
      endless.set(i === 0 ? '/redfish/v1/Chassis' : `/redfish/v1/Chassis?page=${i}`, {
        Members: i === 0 ? [{ '@odata.id': '/redfish/v1/Chassis/A' }] : [],
        'Members@odata.nextLink': `/redfish/v1/Chassis?page=${i + 1}`,
      });
    }
    const source = mapSource(endless);
    warnings.length = 0;
    const bounded = new RedfishReader(source, {
      power: true,
      temperature: false,
      basePath: '',
      logger: { ...noopLogger, warn: (_f, m) => warnings.push(m ?? '') },
      makeError: (message, code, cause) => new AdapterError(message, { adapterType: 'redfish', target: 'fixture', code, cause }),
    });
    expect((await bounded.read(signal, T))[0]).toMatchObject({ sensor: 'power', value: 100 });
    expect(source.gets.filter((g) => g.startsWith('/redfish/v1/Chassis?page='))).toHaveLength(MAX_COLLECTION_PAGES - 1);
    expect(warnings).toEqual([expect.stringMatching(/more than 50 pages/)]);
  });

  it('rediscovers after REDISCOVER_MS, so a source that answered 404 once is asked again', async () => {
    const res = cloneResources(loadRedfishFixture('hpe-ilo4-2.80').resources);
    const power = res.get('/redfish/v1/Chassis/1/Power');
    let now = 1_000_000;
    const reader = new RedfishReader(mapSource(res), {
      power: true,
      temperature: true,
      basePath: '',
      now: () => now,
      makeError: (message, code, cause) => new AdapterError(message, { adapterType: 'redfish', target: 'fixture', code, cause }),
    });
    res.delete('/redfish/v1/Chassis/1/Power');
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')).toBeUndefined();
    res.set('/redfish/v1/Chassis/1/Power', power);
    now += REDISCOVER_MS - 1;
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')).toBeUndefined();
    now += 1;
    expect((await reader.read(signal, T)).find((r) => r.sensor === 'power')?.value).toBe(187);
  });
});
