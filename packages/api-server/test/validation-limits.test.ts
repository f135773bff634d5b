import { MAX_LISTED_PROBLEMS, MORE_PROBLEMS_KEY, parseMeasurementPost, validationBody } from '../src/internal/validation.js';

describe('validationBody', () => {
  it('keeps every problem when there are at most MAX_LISTED_PROBLEMS', () => {
    const errors = Object.fromEntries(Array.from({ length: MAX_LISTED_PROBLEMS }, (_, i) => [`measurements.${i}`, 'bad']));
    expect(validationBody(errors)).toEqual({ errors, message: 'Input payload validation failed' });
  });

  it('lists the first MAX_LISTED_PROBLEMS in order and counts the rest under "..." when there are more', () => {
    const errors = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`measurements.${i}.time`, `t${i}`]));
    const b = validationBody(errors, 7);
    const keys = Object.keys(b.errors);
    expect(keys).toHaveLength(MAX_LISTED_PROBLEMS + 1);
    expect(keys.slice(0, 3)).toEqual(['measurements.0.time', 'measurements.1.time', 'measurements.2.time']);
    expect(b.errors['measurements.99.time']).toBe('t99');
    expect(b.errors[MORE_PROBLEMS_KEY]).toBe('157 more problems not listed (the first 100 are)');
    expect(b.message).toBe('Input payload validation failed');
  });
});

describe('parseMeasurementPost with many problems', () => {
  it('lists 100 problems and counts every further one, whatever kind of problem it is', () => {
    // One kind of problem per reading in turn, so the count past the list meets every rule.
    const kinds: unknown[] = [
      0,
      null,
      [],
      { unit: 'W', value: 1 },
      { sensor: 's', unit: '', value: 1 },
      { sensor: 's', unit: 'W', value: '1' },
      { sensor: 's', unit: 'W', value: 1, time: 1_700_000_000 },
      { sensor: 's', unit: 'W', value: 1, time: 'x' },
      { sensor: 'a\n', unit: 'W\\', value: 1 },
      { sensor: 's', unit: 'W', value: 1 },
    ];
    const measurements = Array.from({ length: 1000 }, (_, i) => kinds[i % kinds.length]);
    // What listing each reading on its own finds, summed: the total the capped answer must account for.
    const listedAlone = (m: unknown): number => {
      const r = parseMeasurementPost({ environment: 'p', measurements: [m] });
      return r.ok ? 0 : Object.keys(r.body.errors).length;
    };
    const total = measurements.reduce<number>((n, m) => n + listedAlone(m), 0);
    expect(total).toBe(1000); // 800 readings with one problem, 100 with two, 100 valid
    const r = parseMeasurementPost({ environment: 'p', measurements });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.body.errors)).toHaveLength(101);
    expect(r.body.errors['measurements.0']).toBe("0 is not of type 'object'");
    expect(r.body.errors[MORE_PROBLEMS_KEY]).toBe(`${total - 100} more problems not listed (the first 100 are)`);
  });

  it('counts problems past the list in the topology and the batch time too', () => {
    const topology = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`k${i}`, null]));
    const r = parseMeasurementPost({ environment: 'p', topology, time: 'x', measurements: [0] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.body.errors['topology.k99']).toBe("null is not of type 'string'");
      expect(r.body.errors['topology.k100']).toBeUndefined();
      expect(r.body.errors[MORE_PROBLEMS_KEY]).toBe('22 more problems not listed (the first 100 are)');
    }
  });

  it('refuses a topology key __proto__, which no object can hold as data', () => {
    const topology = JSON.parse('{"__proto__":"x","rack":"r"}') as unknown;
    const r = parseMeasurementPost({ environment: 'p', topology, measurements: [] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.body.errors).toEqual({ 'topology.__proto__': 'key must not be __proto__ (it cannot be stored as a location tag)' });
  });

  it('keeps topology keys named like other Object.prototype members', () => {
    const r = parseMeasurementPost({ environment: 'p', topology: { constructor: 'c', toString: 't' }, measurements: [] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.topology).toEqual({ constructor: 'c', toString: 't' });
  });
});
