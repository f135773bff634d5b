import { mutateJson, seededRandom, type Json } from '@energyrecorder/testkit';
import { batchLineParts, encodeBatchBytes, formatNs } from '../src/impl/influx-store.js';
import { PackedReadings, scanMeasurementPost, type ScannedMeasurementPost } from '../src/internal/packed-batch.js';
import { assignTimestamps } from '../src/internal/timestamps.js';
import { parseMeasurementPost, type MeasurementPostInput } from '../src/internal/validation.js';
import type { MeasurementBatch } from '../src/store.js';

// The fast path must be invisible: whatever it accepts, the general path (JSON.parse + parseMeasurementPost +
// the line-protocol encoder) accepts too and turns into the same readings and the same bytes. Seeded, replayable
// with FUZZ_SEED.
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);
const T0 = 1_796_000_000_000_000_000;

const NAME_CHARS = 'abcXYZ019_-./:;()[]{}#%&*+<>?@^`|~ ,=';

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)] as T;
}

function name(rand: () => number, chars = NAME_CHARS): string {
  const n = 1 + Math.floor(rand() * 6);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(rand, [...chars]);
  return s;
}

/** A number as a JSON writer might print it: integers, decimals with trailing zeros, negatives. */
function numberText(rand: () => number): string {
  return pick(rand, [
    () => String(Math.floor(rand() * 1000)),
    () => (rand() * 500).toFixed(Math.floor(rand() * 6)),
    () => String(-rand() * 100),
    () => String(rand()),
    () => '0',
    () => '0.0',
    () => `${Math.floor(rand() * 1e15)}.${'0'.repeat(Math.floor(rand() * 3))}5`,
    () => String(2 ** 53 + 2),
  ])();
}

function ws(rand: () => number): string {
  return rand() < 0.8 ? '' : pick(rand, [' ', '\n', '\t', ' \r\n ']);
}

/** A collector-shaped body as text, with random key order, spacing and number spelling. */
function bodyText(rand: () => number, sensors: readonly string[]): string {
  const n = Math.floor(rand() * 12);
  const shared = rand() < 0.3 ? T0 + Math.floor(rand() * 1e6) * 1000 : undefined;
  const readings: string[] = [];
  for (let i = 0; i < n; i++) {
    const parts = [`"sensor":${ws(rand)}${JSON.stringify(pick(rand, sensors))}`, `"unit":${JSON.stringify(pick(rand, ['W', 'V', 'A', 'k W']))}`, `"value":${numberText(rand)}`];
    const t = rand();
    if (t < 0.7) parts.push(`"time":${shared ?? T0 + Math.floor(rand() * 1e9)}`);
    else if (t < 0.8) parts.push('"time":0');
    parts.sort(() => rand() - 0.5);
    readings.push(`${ws(rand)}{${parts.join(`,${ws(rand)}`)}}`);
  }
  const top = [`"environment":${JSON.stringify(name(rand))}`, `"measurements":${ws(rand)}[${readings.join(',')}${ws(rand)}]`];
  if (rand() < 0.6) top.push(`"time":${rand() < 0.2 ? 0 : T0 + Math.floor(rand() * 1e9)}`);
  if (rand() < 0.1) top.push('"topology":null');
  top.sort(() => rand() - 0.5);
  return `${ws(rand)}{${ws(rand)}${top.join(`${ws(rand)},`)}${ws(rand)}}${ws(rand)}`;
}

function general(text: string): MeasurementPostInput | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = parseMeasurementPost(parsed);
  return r.ok ? r.value : undefined;
}

function readingsOf(s: ScannedMeasurementPost): Array<{ sensor: string; unit: string; value: number; time: number | undefined }> {
  const r = s.measurements;
  return Array.from({ length: r.length }, (_, i) => ({ sensor: r.sensor(i), unit: r.unit(i), value: r.value(i), time: r.ownTime(i) }));
}

/** The general path took the body too and read the same environment, time and readings. */
function expectSameReading(context: string, scanned: ScannedMeasurementPost, slow: MeasurementPostInput | undefined): void {
  expect({ context, slow: slow !== undefined }).toEqual({ context, slow: true });
  const g = slow as MeasurementPostInput;
  expect({ context, environment: scanned.environment, time: scanned.time, readings: readingsOf(scanned) }).toEqual({
    context,
    environment: g.environment,
    time: g.time,
    readings: g.measurements,
  });
}

/**
 * Lines with the `value=` field read as a number: the fast path copies the number as the client spelt it (`0.0`,
 * `1.50`) where the general path prints the double again (`0`, `1.5`); influxd parses both to the same double
 * (correctly rounded, as JSON.parse), which the InfluxDB integration test checks on stored values.
 */
function valuesParsed(lp: string): Array<[string, number, string]> {
  return lp
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^(.*) value=(\S+) (\d+)$/.exec(l);
      if (m === null) throw new Error(`not a line of ours: ${l}`);
      return [m[1] as string, Number(m[2]), m[3] as string];
    });
}

/** The general path's line protocol and the fast path's, for the same body and batch tags. */
function bothEncodings(text: string, tags: Pick<MeasurementBatch, 'equipment' | 'environment' | 'scenario' | 'step'>, fallbackNs: number) {
  const scanned = scanMeasurementPost(Buffer.from(text)) as ScannedMeasurementPost;
  const slow = general(text) as MeasurementPostInput;
  const times = assignTimestamps(slow.measurements, fallbackNs);
  const batch: MeasurementBatch = {
    ...tags,
    readings: slow.measurements.map((m, i) => ({ sensor: m.sensor, unit: m.unit, value: m.value, timeNs: times[i] as number | bigint })),
  };
  const expected = encodeBatchBytes(batch, new Map()).toString('latin1');
  const { head, mid, tail } = batchLineParts(batch);
  const lines = scanned.measurements.encodeLines(Buffer.from(head), Buffer.from(mid), Buffer.from(tail), scanned.measurements.assignTimes(fallbackNs));
  const out = Buffer.alloc(lines.maxBytes + 8, 0x21);
  const end = lines.writeTo(out, 3);
  expect(end - 3).toBeLessThanOrEqual(lines.maxBytes);
  return { expected, actual: out.toString('latin1', 3, end) };
}

describe('scanMeasurementPost (ingest fast path)', () => {
  it("takes the collector's body as the collector sends it", () => {
    const body = JSON.stringify({
      environment: 'pod1',
      time: T0,
      measurements: [
        { sensor: 'power', unit: 'W', value: 231.5, time: T0 },
        { sensor: 'PSU 1 input', unit: 'W', value: 120, time: T0 },
        { sensor: 'voltage', unit: 'V', value: 229.87, time: T0 + 1000 },
      ],
    });
    const s = scanMeasurementPost(Buffer.from(body));
    expect(s).toBeDefined();
    expect(s?.environment).toBe('pod1');
    expect(s?.time).toBe(T0);
    expect(readingsOf(s as ScannedMeasurementPost)).toEqual([
      { sensor: 'power', unit: 'W', value: 231.5, time: T0 },
      { sensor: 'PSU 1 input', unit: 'W', value: 120, time: T0 },
      { sensor: 'voltage', unit: 'V', value: 229.87, time: T0 + 1000 },
    ]);
  });

  it('takes more readings than the body size suggests (short readings grow its tables)', () => {
    const measurements = Array.from({ length: 5000 }, (_, i) => ({ sensor: 'a', unit: 'W', value: i % 10 }));
    const s = scanMeasurementPost(Buffer.from(JSON.stringify({ environment: 'e', measurements }))) as ScannedMeasurementPost;
    expect(s.measurements.length).toBe(5000);
    expect(readingsOf(s)).toEqual(measurements.map((m) => ({ ...m, time: undefined })));
  });

  it('keeps each body its own tables: the scratch tables a scan reuses never leak into an earlier result', () => {
    // 10,000 readings: past the scratch tables' first size, so they grow, then are let go after the scan.
    const big = Array.from({ length: 10_000 }, (_, i) => ({ sensor: `s${i % 7}`, unit: 'W', value: i, time: T0 + i * 1000 }));
    const small = [{ sensor: 'other', unit: 'V', value: 1.5, time: T0 + 5 }];
    const first = scanMeasurementPost(Buffer.from(JSON.stringify({ environment: 'e', measurements: big }))) as ScannedMeasurementPost;
    const second = scanMeasurementPost(Buffer.from(JSON.stringify({ environment: 'e', measurements: small }))) as ScannedMeasurementPost;
    const third = scanMeasurementPost(Buffer.from(JSON.stringify({ environment: 'e', measurements: big.slice(0, 3) }))) as ScannedMeasurementPost;
    expect(readingsOf(first)).toEqual(big);
    expect(readingsOf(second)).toEqual(small);
    expect(readingsOf(third)).toEqual(big.slice(0, 3));
  });

  it.each([
    ['rising own times', [T0, T0 + 1000, T0 + 2000]],
    ['a repeated time (the duplicate gets +1 ns)', [T0, T0, T0 + 2000]],
    ['falling times', [T0 + 2000, T0 + 1000, T0]],
    ['readings without a time (the batch time)', [undefined, T0 + 1000, undefined]],
  ])('stores the times assignTimestamps gives: %s', (_what, times) => {
    const measurements = times.map((time, i) => ({ sensor: 'p', unit: 'W', value: i, ...(time === undefined ? {} : { time }) }));
    const s = scanMeasurementPost(Buffer.from(JSON.stringify({ environment: 'e', measurements }))) as ScannedMeasurementPost;
    expect(Array.from(s.measurements.assignTimes(T0 + 7000))).toEqual(assignTimestamps(measurements, T0 + 7000));
  });

  it.each([
    ['topology', { environment: 'e', topology: { rack: 'r1' }, measurements: [] }],
    ['an escape in a name', '{"environment":"a\\"b","measurements":[]}'],
    ['a unicode escape in a key', '{"\\u0065nvironment":"e","measurements":[]}'],
    ['non-ASCII', { environment: 'café', measurements: [] }],
    ['a control character', '{"environment":"a\tb","measurements":[]}'],
    ['a backslash', { environment: 'a\\', measurements: [] }],
    ['an empty name', { environment: '', measurements: [] }],
    ['a 1025-character name', { environment: 'x'.repeat(1025), measurements: [] }],
    ['an unknown key', { environment: 'e', measurements: [], extra: 1 }],
    ['a repeated key', '{"environment":"e","environment":"f","measurements":[]}'],
    ['a repeated reading key', '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":1,"value":2}]}'],
    ['no measurements', { environment: 'e' }],
    ['no environment', { measurements: [] }],
    ['a missing value', { environment: 'e', measurements: [{ sensor: 's', unit: 'W' }] }],
    ['a string value', { environment: 'e', measurements: [{ sensor: 's', unit: 'W', value: '1' }] }],
    ['an exponent', '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":1e3}]}'],
    ['a negative zero', '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":-0.00}]}'],
    ['a leading zero', '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":01}]}'],
    ['a bare dot', '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":1.}]}'],
    ['a huge number', `{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":${'9'.repeat(400)}}]}`],
    ['a time in ms', { environment: 'e', measurements: [{ sensor: 's', unit: 'W', value: 1, time: 1_700_000_000_000 }] }],
    ['a fractional time', '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":1,"time":1796000000000000000.5}]}'],
    ['a time with exponent', '{"environment":"e","time":1.796e18,"measurements":[]}'],
    ['a 19-digit time with an exponent', '{"environment":"e","time":1796000000000000000e0,"measurements":[]}'],
    ['a 19-digit time with a leading zero', '{"environment":"e","time":0796000000000000000,"measurements":[]}'],
    ['a 20-digit time', '{"environment":"e","time":17960000000000000000,"measurements":[]}'],
    ['a negative time', { environment: 'e', time: -T0, measurements: [] }],
    ['a time after 2096', { environment: 'e', time: 4.1e18, measurements: [] }],
    ['a topology of another type', '{"environment":"e","topology":nullx,"measurements":[]}'],
    ['trailing garbage', '{"environment":"e","measurements":[]} x'],
    ['a byte-order mark', '\ufeff{"environment":"e","measurements":[]}'],
    ['a trailing comma', '{"environment":"e","measurements":[],}'],
    ['an array', '[]'],
    ['an empty body', ''],
  ])('leaves %s to the general path', (_what, body) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    expect(scanMeasurementPost(Buffer.from(text))).toBeUndefined();
  });

  it('gives, for every body it takes, what JSON.parse and parseMeasurementPost give (random bodies)', () => {
    const rand = seededRandom(SEED);
    const sensors = Array.from({ length: 5 }, () => name(rand));
    let taken = 0;
    for (let i = 0; i < 3000; i++) {
      const text = bodyText(rand, sensors);
      const scanned = scanMeasurementPost(Buffer.from(text));
      const slow = general(text);
      const context = `FUZZ_SEED=${SEED} body ${text}`;
      // These bodies are all in the fast path's subset: it must take every one.
      expect({ context, taken: scanned !== undefined }).toEqual({ context, taken: true });
      expectSameReading(context, scanned as ScannedMeasurementPost, slow);
      taken++;
    }
    expect(taken).toBe(3000);
  });

  it('never takes a damaged body the general path refuses or reads differently (seeded mutations)', () => {
    const rand = seededRandom(SEED + 1);
    const sensors = ['power', 'PSU 1', 'a,b=c'];
    let taken = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const base = JSON.parse(bodyText(rand, sensors)) as Json;
      const { value } = mutateJson(rand, base);
      let text = JSON.stringify(value) ?? '';
      // Byte-level damage too: a truncation or one replaced character.
      if (rand() < 0.3 && text.length > 0) {
        const at = Math.floor(rand() * text.length);
        text = rand() < 0.5 ? text.slice(0, at) : `${text.slice(0, at)}${pick(rand, ['"', '\\', ',', '}', ']', '0', 'e', '-', ' ', '\u00e9'])}${text.slice(at + 1)}`;
      }
      const scanned = scanMeasurementPost(Buffer.from(text));
      const slow = general(text);
      if (scanned === undefined) {
        if (slow === undefined) refused++;
        continue;
      }
      taken++;
      const context = `FUZZ_SEED=${SEED} body ${text}`;
      expectSameReading(context, scanned, slow);
    }
    // Both kinds occur, so the test sees the scanner take and decline.
    expect(taken).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(500);
  });

  it('writes the same line protocol as the general encoder (random bodies and tags)', () => {
    const rand = seededRandom(SEED + 2);
    // Few sensors and shared times: duplicates of (sensor, unit, time) get their +k ns bigint offsets.
    const sensors = ['power', 'PSU 1', 'a,b=c'];
    for (let i = 0; i < 2000; i++) {
      const text = bodyText(rand, sensors);
      const tags = { equipment: name(rand), environment: name(rand), scenario: name(rand), step: name(rand) };
      const { expected, actual } = bothEncodings(text, tags, T0 + 12_345);
      const context = `FUZZ_SEED=${SEED} body ${text}`;
      expect({ context, lines: valuesParsed(actual) }).toEqual({ context, lines: valuesParsed(expected) });
    }
  });

  it('writes non-ASCII batch tags (from the path, not the body) as UTF-8', () => {
    const text = JSON.stringify({ environment: 'e', measurements: [{ sensor: 'power', unit: 'W', value: 1.25, time: T0 }] });
    const { expected, actual } = bothEncodings(text, { equipment: 'bâtiment B', environment: 'e', scenario: 'n/s', step: 'n/s' }, T0);
    expect(actual).toBe(expected);
  });

  // Times go through the same double as on the general path (1796000000000001000 is stored at ...1024).
  it('copies a number as spelt, a spelling line protocol reads as the same double', () => {
    const text = '{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":1.50,"time":1796000000000000512},{"sensor":"s","unit":"W","value":-0.0001,"time":1796000000000001000}]}';
    const { actual } = bothEncodings(text, { equipment: 'q', environment: 'e', scenario: 'n/s', step: 'n/s' }, T0);
    expect(actual).toBe(
      'SensorMeasurement,environment=e,equipement=q,scenario=n/s,sensor=s,step=n/s,unit=W value=1.50 1796000000000000512\n' +
        'SensorMeasurement,environment=e,equipement=q,scenario=n/s,sensor=s,step=n/s,unit=W value=-0.0001 1796000000000001024\n',
    );
  });

  it('moves whole-second times by the same offsets as the general path, and by the same again on a re-send', () => {
    // The original collectors' batches: whole-second times on the readings, or none and a whole-second batch time.
    const second = T0 + 7e9;
    const bodies = [
      `{"environment":"e","time":${second},"measurements":[{"sensor":"power","unit":"W","value":101.5,"time":${second}},{"sensor":"temp","unit":"C","value":30,"time":${second}},{"sensor":"power","unit":"W","value":101.5,"time":${second}}]}`,
      `{"environment":"e","time":${second},"measurements":[{"sensor":"power","unit":"W","value":99},{"sensor":"PSU 1","unit":"W","value":12.25}]}`,
      `{"environment":"e","measurements":[{"sensor":"power","unit":"W","value":1.50,"time":${second}},{"sensor":"power","unit":"W","value":1.5,"time":${second + 1000}}]}`,
    ];
    const tags = { equipment: 'srv', environment: 'e', scenario: 'n/s', step: 'n/s' };
    const lines = bodies.map((text) => {
      const { expected, actual } = bothEncodings(text, tags, second);
      expect(actual.replace(' value=1.50 ', ' value=1.5 ')).toBe(expected);
      expect(bothEncodings(text, tags, second).actual).toBe(actual);
      return actual;
    });
    const stamps = lines.join('').split('\n').filter((l) => l !== '').map((l) => BigInt(l.slice(l.lastIndexOf(' ') + 1)));
    for (const t of stamps) expect(t - BigInt(second)).toBeLessThan(1_000_000n);
    // Power 101.5 twice in one batch: the same offset, ranked 1 ns apart; power 99 of the next batch elsewhere.
    expect((stamps[2] as bigint) - (stamps[0] as bigint)).toBe(1n);
    expect(stamps[3]).not.toBe(stamps[0]);
    // A time that is not a whole second is kept.
    expect(stamps[6]).toBe(BigInt(second + 1000));
  });

  it('prints timestamps as formatNs does', () => {
    const rand = seededRandom(SEED + 3);
    const values: Array<number | bigint> = [1e9, 1e18, 2 ** 62 - 2048, 1_999_999_999_999_999_744, 5e17, BigInt(T0) + 3n, 12];
    for (let i = 0; i < 2000; i++) values.push(Math.round(1e18 + rand() * 3e18));
    for (const t of values) {
      const body = `{"environment":"e","measurements":[{"sensor":"s","unit":"W","value":1}]}`;
      const s = scanMeasurementPost(Buffer.from(body)) as ScannedMeasurementPost;
      const lines = s.measurements.encodeLines(Buffer.from('M'), Buffer.alloc(0), Buffer.alloc(0), [t]);
      const out = Buffer.alloc(lines.maxBytes);
      const text = out.toString('latin1', 0, lines.writeTo(out, 0));
      expect(text).toBe(`M,sensor=s,unit=W value=1 ${formatNs(t)}\n`);
    }
  });

  it('finds the readings of one series without building the others', () => {
    const text = JSON.stringify({
      environment: 'e',
      measurements: [
        { sensor: 'power', unit: 'W', value: 1, time: T0 },
        { sensor: 'power', unit: 'kW', value: 2, time: T0 },
        { sensor: 'powe', unit: 'W', value: 3, time: T0 },
        { sensor: 'power', unit: 'W', value: 4, time: T0 + 1 },
      ],
    });
    const r = (scanMeasurementPost(Buffer.from(text)) as ScannedMeasurementPost).measurements;
    expect(r).toBeInstanceOf(PackedReadings);
    expect(r.indicesOf('power', 'W')).toEqual([0, 3]);
    expect(r.indicesOf('power', 'kW')).toEqual([1]);
    expect(r.indicesOf('pöwer', 'W')).toEqual([]);
    // Another sensor after the remembered one, and back.
    expect(r.indicesOf('powe', 'W')).toEqual([2]);
    expect(r.indicesOf('powe', 'kW')).toEqual([]);
    expect(r.indicesOf('power', 'W')).toEqual([0, 3]);
  });
});
