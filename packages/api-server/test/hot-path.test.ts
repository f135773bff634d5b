import { createSessionLookup } from '../src/internal/session-lookup.js';
import { batchLineParts, formatNs } from '../src/impl/influx-store.js';
import { measurementPostSchema, parseBody, parseMeasurementPost } from '../src/internal/validation.js';
import type { ScenarioEvent } from '../src/index.js';

const event = (scenario: string): ScenarioEvent => ({ environment: 'e', scenario, step: 's', started: true, timeNs: 1 });

describe('createSessionLookup', () => {
  it('shares one read among callers that arrive while it is pending', async () => {
    const resolvers: Array<(e: ScenarioEvent) => void> = [];
    let reads = 0;
    const lookup = createSessionLookup(() => {
      reads++;
      return new Promise<ScenarioEvent | undefined>((r) => resolvers.push(r));
    });
    const first = lookup('e', undefined);
    const waiting = [lookup('e', undefined), lookup('e', undefined), lookup('e', undefined)];
    expect(reads).toBe(1);
    resolvers[0]?.(event('old'));
    expect((await first)?.scenario).toBe('old');
    // The three that arrived during the first read must not get its answer: they share one read begun after.
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(2);
    resolvers[1]?.(event('new'));
    expect((await Promise.all(waiting)).map((e) => e?.scenario)).toEqual(['new', 'new', 'new']);
  });

  it('reads again when called after the previous read settled', async () => {
    let n = 0;
    const lookup = createSessionLookup(async () => event(`v${++n}`));
    expect((await lookup('e', undefined))?.scenario).toBe('v1');
    expect((await lookup('e', undefined))?.scenario).toBe('v2');
  });

  it('keeps environments and times apart when they differ', async () => {
    const seen: string[] = [];
    const lookup = createSessionLookup(async (env, at) => {
      seen.push(`${env}@${at ?? 'latest'}`);
      return undefined;
    });
    await Promise.all([lookup('a', undefined), lookup('b', undefined), lookup('a', 5)]);
    expect(seen.sort()).toEqual(['a@5', 'a@latest', 'b@latest']);
  });

  it('passes a failed read to everyone waiting on it', async () => {
    const lookup = createSessionLookup(() => Promise.reject(new Error('down')));
    await expect(Promise.all([lookup('e', undefined), lookup('e', undefined)])).rejects.toThrow('down');
  });
});

describe('parseMeasurementPost', () => {
  const t = 1.7e18;
  // Inputs where the hand-written validator must agree with the zod schema, field by field.
  const cases: Array<[string, unknown]> = [
    ['a valid batch', { environment: 'p', topology: { dc: 'x', rack: 4 }, time: t, measurements: [{ sensor: 's', unit: 'W', value: 1, time: t }, { sensor: 's', unit: 'W', value: 2.5 }] }],
    ['a time of 0 meaning absent', { environment: 'p', time: 0, measurements: [{ sensor: 's', unit: 'W', value: 1, time: 0 }] }],
    ['a null topology', { environment: 'p', topology: null, measurements: [] }],
    ['wrong types everywhere', { environment: null, measurements: [{ sensor: 5, unit: true, value: '1', time: '1' }], time: -1 }],
    ['missing fields', { measurements: [{ unit: 'W' }] }],
    ['empty, long, control and backslash names', { environment: 'p', measurements: [{ sensor: '', unit: 'a'.repeat(1025), value: 1 }, { sensor: 'a\n', unit: 'b\\', value: 1 }] }],
    ['times in s, ms and µs', { environment: 'p', time: 1_700_000_000, measurements: [{ sensor: 's', unit: 'W', value: 1, time: 1_700_000_000_000 }, { sensor: 's', unit: 'W', value: 1, time: 1_700_000_000_000_000 }] }],
    ['measurements not a list', { environment: 'p', measurements: 'x' }],
  ];
  it.each(cases)('agrees with the schema when given %s', (_what, input) => {
    const fast = parseMeasurementPost(input);
    const slow = parseBody(measurementPostSchema, input);
    expect(fast.ok).toBe(slow.ok);
    if (!fast.ok && !slow.ok) expect(fast.body).toEqual(slow.body);
    if (fast.ok && slow.ok) {
      expect(fast.value.environment).toBe(slow.value.environment);
      expect(fast.value.time).toBe(slow.value.time);
      expect(fast.value.topology).toEqual(slow.value.topology);
      expect(fast.value.measurements).toEqual(slow.value.measurements.map((m) => ({ ...m, time: m.time })));
    }
  });

  it('names the reading and key at fault when an item or a topology entry is malformed', () => {
    const r = parseMeasurementPost({ environment: 'p', topology: { rack: null, sensor: 'x' }, measurements: [{ sensor: 's', unit: 'W', value: 1 }, null, { sensor: 's', unit: 'W', value: 1 }, { sensor: 's', unit: 'W', value: 'NaN' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.body.errors).toEqual({
        'topology.rack': "null is not of type 'string'",
        'topology.sensor': 'is a reserved tag name',
        'measurements.1': "null is not of type 'object'",
        'measurements.3.value': `"NaN" is not of type 'number'`,
      });
    }
  });

  it('refuses times past 2262 when they would overflow 64-bit ns', () => {
    const r = parseMeasurementPost({ environment: 'p', measurements: [{ sensor: 's', unit: 'W', value: 1, time: 9.5e18 }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.body.errors['measurements.0.time']).toMatch(/2262/);
  });
});

describe('batchLineParts', () => {
  const keysOf = (line: string): string[] =>
    line
      .split(' ')[0]!
      .split(',')
      .slice(1)
      .map((t) => t.split('=')[0]!);
  const line = (p: { head: string; mid: string; tail: string }): string => `${p.head},sensor=s${p.mid},unit=W${p.tail} value=1 1`;

  it('puts every tag in byte order of its key when topology keys fall before, between and after sensor and unit', () => {
    const parts = batchLineParts({
      equipment: 'srv',
      environment: 'pod',
      scenario: 'sc',
      step: 'st',
      topology: { zone: 'z', a: 'x', rack: 'r', sf: 'y', Upper: 'u', 'é': 'e' },
    });
    const keys = keysOf(line(parts));
    expect(keys).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(keys).toEqual(['Upper', 'a', 'environment', 'equipement', 'rack', 'scenario', 'sensor', 'sf', 'step', 'unit', 'zone', 'é']);
  });

  it('escapes the shared tags once when values hold commas, spaces and equals signs', () => {
    const parts = batchLineParts({ equipment: 'a b', environment: 'x,y', scenario: 'k=v', step: 's', topology: undefined });
    expect(line(parts)).toBe('SensorMeasurement,environment=x\\,y,equipement=a\\ b,scenario=k\\=v,sensor=s,step=s,unit=W value=1 1');
  });
});

describe('formatNs', () => {
  it('prints the same digits as BigInt for integers across the whole double range it takes a fast path for', () => {
    const samples = [1e9, 1e9 + 1, 2 ** 53, 2 ** 53 + 2, 2 ** 62 - 2 ** 10, 1_763_000_000_999_999_744, 1_999_999_999_999_999_744];
    let seed = 12345;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      samples.push(Math.floor((seed / 2 ** 31) * 2 ** 62));
      samples.push(Math.floor(seed / 2 ** 31 * 1e9) * 1e9);
    }
    for (const t of samples) expect(formatNs(t)).toBe(BigInt(t).toString());
  });

  it('falls back to plain text for bigints, small numbers and non-integers', () => {
    expect(formatNs(123n)).toBe('123');
    expect(formatNs(42)).toBe('42');
    expect(formatNs(2 ** 63)).toBe(String(2 ** 63));
  });
});
