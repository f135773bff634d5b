import { AdapterError, HttpStatusError, MAX_RETRY_AFTER_MS, parseRetryAfterMs, TimeoutError } from '@energyrecorder/core';

describe('errors', () => {
  it('marks 5xx and 429 retryable and other 4xx not', () => {
    expect(new HttpStatusError('x', { status: 503 }).retryable).toBe(true);
    expect(new HttpStatusError('x', { status: 429 }).retryable).toBe(true);
    expect(new HttpStatusError('x', { status: 400 }).retryable).toBe(false);
  });

  it('names the adapter type and target in an AdapterError', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new AdapterError('unreachable', { adapterType: 'redfish', target: '127.0.0.1:1', cause });
    expect(err.message).toBe('redfish 127.0.0.1:1: unreachable');
    expect(err.code).toBe('ER_ADAPTER');
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('AdapterError');
  });

  it('makes timeouts retryable', () => {
    expect(new TimeoutError('slow').retryable).toBe(true);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfterMs('7')).toBe(7000);
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });

  it('caps Retry-After at MAX_RETRY_AFTER_MS and refuses numbers V8 would read as dates', () => {
    expect(parseRetryAfterMs('86400')).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfterMs('99999999999999999999')).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfterMs('Wed, 21 Oct 2099 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(MAX_RETRY_AFTER_MS);
    for (const odd of ['1.5', '2.5', '1 2', '-3']) expect(parseRetryAfterMs(odd)).toBeUndefined();
    // The obsolete HTTP-date forms still parse.
    expect(parseRetryAfterMs('Wednesday, 21-Oct-15 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfterMs('Wed Oct 21 07:28:10 2015', Date.parse('Wed Oct 21 07:28:00 2015'))).toBe(10_000);
  });
});
