import { buildDigestAuthorization, parseDigestChallenge } from '../../src/internal/http-digest.js';

describe('digest auth', () => {
  it('matches the RFC 2617 example response when given its inputs', () => {
    const challenge = parseDigestChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(challenge).toBeDefined();
    const header = buildDigestAuthorization({
      challenge: challenge!,
      user: 'Mufasa',
      pass: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      nc: 1,
      cnonce: '0a4f113b',
    });
    expect(header).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(header).toContain('qop=auth, nc=00000001');
  });

  it('finds the Digest challenge when a Basic one comes first', () => {
    expect(parseDigestChallenge('Basic realm="x", Digest realm="r", nonce="n", algorithm=SHA-256')).toMatchObject({
      realm: 'r',
      nonce: 'n',
      algorithm: 'SHA-256',
      qop: undefined,
    });
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined();
  });
});
