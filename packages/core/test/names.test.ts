import { nameProblem } from '@energyrecorder/core';
import { NAME_UNSTORABLE_BACKSLASH } from '@energyrecorder/core/names';

describe('nameProblem', () => {
  it('accepts backslashes that InfluxDB 1.x stores as written', () => {
    for (const name of ['DOM\\scen', 'a\\\\b', 'C:\\temp\\x', '\\"q\\"', 'path\\to', '\\start']) expect(nameProblem(name)).toBeUndefined();
  });

  it.each([
    ['a\\ b', 'a space'],
    ['a\\,b', 'a comma'],
    ['a\\=b', 'an equals sign'],
    ['a\\\\ b', 'a space after two backslashes'],
  ])('refuses %j, a backslash right before %s, naming the rule', (name) => {
    expect(nameProblem(name)).toMatch(/backslash right before a space, comma or "="/);
    expect(NAME_UNSTORABLE_BACKSLASH.test(name)).toBe(true);
  });

  it('keeps its own message for a trailing backslash', () => {
    expect(nameProblem('ends\\')).toBe('must not end with a backslash');
  });
});
