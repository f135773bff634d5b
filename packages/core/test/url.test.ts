import { splitUrlCredentials } from '@energyrecorder/core';

describe('splitUrlCredentials', () => {
  it('takes user and password out of a URL, percent-decoded', () => {
    expect(splitUrlCredentials('http://admin:S3%40cret@127.0.0.1:4444/x')).toEqual({ url: 'http://127.0.0.1:4444/x', user: 'admin', pass: 'S3@cret' });
    expect(splitUrlCredentials('https://:only-pass@h/')).toEqual({ url: 'https://h/', pass: 'only-pass' });
  });

  it('keeps text that does not decode, and returns URLs without credentials or non-URLs unchanged', () => {
    expect(splitUrlCredentials('http://u:%E0%A4%A@h/')).toEqual({ url: 'http://h/', user: 'u', pass: '%E0%A4%A' });
    expect(splitUrlCredentials('http://127.0.0.1:4444')).toEqual({ url: 'http://127.0.0.1:4444' });
    expect(splitUrlCredentials('not a url')).toEqual({ url: 'not a url' });
  });
});
