import { decodeTagValue, encodePoint, encodePoints, escapeMeasurement, escapeTag, ValidationError } from '@energyrecorder/core';

describe('encodePoint', () => {
  it('writes measurement, ordered tags, a float field and an ns timestamp', () => {
    const line = encodePoint({
      measurement: 'SensorMeasurement',
      tags: [
        ['equipement', 'srv-1'],
        ['environment', 'pod 1'],
      ],
      fields: { value: 230.5 },
      timestampNs: 1_700_000_000_000_000_000,
    });
    expect(line).toBe('SensorMeasurement,equipement=srv-1,environment=pod\\ 1 value=230.5 1700000000000000000');
  });

  it('escapes commas, equals, spaces, backslashes and newlines in tag keys and values', () => {
    expect(escapeTag('a,b=c d\\e\nf')).toBe('a\\,b\\=c\\ d\\\\e\\\nf');
  });

  it('escapes commas, spaces, backslashes and newlines in measurement names but keeps = as is', () => {
    // `=` needs no escape in a measurement name (line-protocol.int.test.ts writes one to a real influxd).
    expect(escapeMeasurement('a,b c=d\\e\nf')).toBe('a\\,b\\ c=d\\\\e\\\nf');
    expect(() => escapeMeasurement('')).toThrow(ValidationError);
  });

  it('escapes field keys like tag keys', () => {
    expect(encodePoint({ measurement: 'm', fields: { 'power W,=x': 1 } })).toBe('m power\\ W\\,\\=x=1');
  });

  it('refuses a measurement starting with # (a comment line to InfluxDB) and an empty field key, naming the field', () => {
    expect(() => escapeMeasurement('#power')).toThrow(/comment/);
    expect(() => encodePoint({ measurement: 'm', fields: { '': 1 } })).toThrow(ValidationError);
    try {
      encodePoint({ measurement: 'm', fields: { 'w\\': 1 } });
      throw new Error('no error');
    } catch (err) {
      expect((err as ValidationError).field).toBe('fields.w\\');
    }
  });

  it('drops empty tag values, which InfluxDB refuses', () => {
    expect(encodePoint({ measurement: 'm', tags: { a: '', b: 'x' }, fields: { f: 1 } })).toBe('m,b=x f=1');
  });

  it('quotes string fields and escapes their quotes and backslashes', () => {
    expect(encodePoint({ measurement: 'm', fields: { s: 'say "hi" \\o/' } })).toBe('m s="say \\"hi\\" \\\\o/"');
  });

  it('writes bigint fields as integers and booleans as true/false', () => {
    expect(encodePoint({ measurement: 'm', fields: { i: 5n, b: true } })).toBe('m i=5i,b=true');
  });

  it('rejects non-finite numbers and points without fields', () => {
    expect(() => encodePoint({ measurement: 'm', fields: { v: Number.NaN } })).toThrow(ValidationError);
    expect(() => encodePoint({ measurement: 'm', fields: {} })).toThrow(/at least one field/);
  });

  it('joins points with newlines', () => {
    expect(encodePoints([{ measurement: 'a', fields: { v: 1 } }, { measurement: 'b', fields: { v: 2 } }])).toBe(
      'a v=1\nb v=2',
    );
  });
});

describe('decodeTagValue', () => {
  it('restores the backslash pairs InfluxDB keeps when storing an escaped tag', () => {
    // what influxd 1.x stores for escapeTag('x\\y\nz'): it unescapes only \, \= and \space
    expect(decodeTagValue('x\\\\y\\\nz')).toBe('x\\y\nz');
  });
});

describe('escapeTag limits', () => {
  it('refuses a value ending with a backslash, which InfluxDB 1.x cannot parse', () => {
    expect(() => escapeTag('ends with\\')).toThrow(/ending with a backslash/);
  });
});
