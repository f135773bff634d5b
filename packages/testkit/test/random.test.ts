import { ODD_JSON_VALUES, mutateJson, seededRandom, type Json } from '../src/index.js';

describe('seededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const sa = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(sa);
    expect(Array.from({ length: 5 }, c)).not.toEqual(sa);
  });

  it('stays in [0, 1) and spreads over it when drawn many times', () => {
    const r = seededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[Math.floor(x * 10)] = (buckets[Math.floor(x * 10)] ?? 0) + 1;
    }
    for (const n of buckets) expect(n).toBeGreaterThan(850);
  });
});

describe('mutateJson', () => {
  const doc = { a: 1, list: [{ b: 'x' }, { b: 'y' }], section: { c: true } };

  it('changes a copy at the path it names and leaves the original alone when called many times', () => {
    const rand = seededRandom(3);
    const before = JSON.stringify(doc);
    let changed = 0;
    for (let i = 0; i < 200; i++) {
      const { value, path } = mutateJson(rand, doc);
      if (JSON.stringify(value) !== before) changed++;
      // The path existed in the original document.
      expect(path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc)).not.toBeUndefined();
    }
    expect(JSON.stringify(doc)).toBe(before);
    expect(changed).toBeGreaterThan(150);
  });

  it('carries a __proto__ key as data when that odd value is inserted', () => {
    const proto = ODD_JSON_VALUES.find((v) => typeof v === 'object' && v !== null && Object.keys(v).includes('__proto__'));
    expect(proto).toBeDefined();
    const { value } = mutateJson(() => 0.99, { k: 1 }, [proto as Json]);
    expect(JSON.stringify(value)).toContain('"__proto__"');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
