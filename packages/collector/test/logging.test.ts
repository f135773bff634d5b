import { errorText, worthWarning } from '../src/internal/logging.js';

describe('worthWarning', () => {
  it('warns for the first three occurrences and then only on powers of two when a problem repeats', () => {
    const warned = Array.from({ length: 40 }, (_, i) => i + 1).filter(worthWarning);
    expect(warned).toEqual([1, 2, 3, 4, 8, 16, 32]);
  });
});

describe('errorText', () => {
  it('prefixes the code when the error has a string code', () => {
    const err = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(errorText(err)).toBe('ECONNREFUSED: refused');
  });

  it('gives the message alone when the error has no code, and String() of a non-error', () => {
    expect(errorText(new Error('boom'))).toBe('boom');
    expect(errorText(42)).toBe('42');
  });
});
