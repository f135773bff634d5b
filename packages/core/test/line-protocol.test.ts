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

  it('escapes commas, equals, spaces and newlines in tag keys and values and writes a backslash as itself', () => {
    // InfluxDB 1.x keeps a backslash that escapes nothing: `DOM\scen` is stored as the original stored it.
    expect(escapeTag('a,b=c d\\e\nf')).toBe('a\\,b\\=c\\ d\\e\\\nf');
    expect(escapeTag('DOM\\scen')).toBe('DOM\\scen');
    expect(escapeTag('two\\\\in a row')).toBe('two\\\\in\\ a\\ row');
  });

  it('escapes commas, spaces and newlines in measurement names, keeps = and backslashes as they are', () => {
    // `=` needs no escape in a measurement name (line-protocol.int.test.ts writes one to a real influxd).
    expect(escapeMeasurement('a,b c=d\\e\nf')).toBe('a\\,b\\ c=d\\e\\\nf');
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
  it('removes the backslash InfluxDB keeps before an escaped control character and keeps the value\'s own', () => {
    // what influxd 1.x stores for escapeTag('x\\y\nz'): it unescapes only \, \= and \space
    expect(decodeTagValue('x\\y\\\nz')).toBe('x\\y\nz');
    expect(decodeTagValue('a\\\\b')).toBe('a\\\\b');
  });
});

describe('escapeTag limits', () => {
  it('refuses a value ending with a backslash, which InfluxDB 1.x cannot parse', () => {
    expect(() => escapeTag('ends with\\')).toThrow(/ending with a backslash/);
  });

  it.each([' ', ',', '=', '\n', '\t'])('refuses a backslash right before %j, which the line splitter would pair with the escape', (c) => {
    expect(() => escapeTag(`a\\${c}b`)).toThrow(ValidationError);
    expect(() => escapeTag(`a\\${c}b`)).toThrow(/backslash right before/);
    expect(() => escapeMeasurement(`a\\${c}b`)).toThrow(ValidationError);
  });

  it('refuses a backslash before a double quote in a field key only, which InfluxDB unescapes there', () => {
    expect(escapeTag('a\\"b')).toBe('a\\"b');
    expect(() => encodePoint({ measurement: 'm', fields: { 'a\\"b': 1 } })).toThrow(/double quote/);
  });
});
