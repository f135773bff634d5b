import {
  basicAuthorization,
  buildDigestAuthorization,
  offersBasic,
  parseAuthChallenges,
  parseDigestChallenge,
} from '../src/http-auth.js';

const RFC2617 =
  'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

// RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5; a server lists the strongest first.
const RFC7616 = [
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
];
const RFC7616_INPUT = { user: 'Mufasa', pass: 'Circle of Life', method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };

describe('Digest challenges and answers', () => {
  it('matches the RFC 2617 example, naming no algorithm when the server named none', () => {
    const challenge = parseDigestChallenge(RFC2617);
    expect(challenge).toEqual({
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      qop: 'auth',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
      algorithm: 'MD5',
      algorithmNamed: false,
      stale: false,
    });
    const header = buildDigestAuthorization({ challenge: challenge!, user: 'Mufasa', pass: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: '0a4f113b' });
    expect(header).toBe(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", ' +
        'response="6629fae49393a05397450978507c4ef1", qop=auth, nc=00000001, cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
  });

  it('matches both RFC 7616 examples and picks SHA-256 over MD5 whichever comes first', () => {
    for (const header of [RFC7616.join(', '), [...RFC7616].reverse().join(', ')]) {
      const challenge = parseDigestChallenge(header);
      expect(challenge).toMatchObject({ algorithm: 'SHA-256', algorithmNamed: true, qop: 'auth' });
      const answer = buildDigestAuthorization({ challenge: challenge!, ...RFC7616_INPUT });
      expect(answer).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
      expect(answer).toContain('algorithm=SHA-256');
    }
    const md5 = parseDigestChallenge(RFC7616[1]);
    expect(buildDigestAuthorization({ challenge: md5!, ...RFC7616_INPUT })).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
  });

  it('answers RFC 2069 (no qop) and MD5-sess challenges', () => {
    const plain = parseDigestChallenge('Digest realm="r", nonce="n"');
    expect(plain).toMatchObject({ qop: undefined, algorithm: 'MD5' });
    const a = buildDigestAuthorization({ challenge: plain!, user: 'u', pass: 'p', method: 'GET', uri: '/x', nc: 1, cnonce: 'c' });
    expect(a).not.toMatch(/qop=|nc=|cnonce=|algorithm=/);
    // MD5(MD5("u:r:p") + ":n:" + MD5("GET:/x")), computed with Python's hashlib.
    expect(a).toContain('response="3042aef13752cb1d63f6787a080ffdfc"');
    const sess = parseDigestChallenge('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"');
    const b = buildDigestAuthorization({ challenge: sess!, user: 'u', pass: 'p', method: 'GET', uri: '/x', nc: 2, cnonce: 'c' });
    expect(b).toContain('algorithm=MD5-sess');
    expect(b).toContain('nc=00000002');
    const c = buildDigestAuthorization({ challenge: { ...sess!, algorithm: 'MD5' }, user: 'u', pass: 'p', method: 'GET', uri: '/x', nc: 2, cnonce: 'c' });
    expect(b.match(/response="([0-9a-f]+)"/)?.[1]).not.toBe(c.match(/response="([0-9a-f]+)"/)?.[1]);
  });

  it('refuses algorithms it cannot compute rather than answering them with MD5', () => {
    expect(parseDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-1')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-1, Digest realm="r", nonce="m"')).toMatchObject({ nonce: 'm' });
  });

  it('finds the Digest challenge among others, with commas inside quoted values', () => {
    expect(parseDigestChallenge('Basic realm="a, b", Digest realm="r, s", nonce="n", stale=TRUE')).toMatchObject({ realm: 'r, s', nonce: 'n', stale: true });
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseDigestChallenge(undefined)).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="r"')).toBeUndefined();
    // An unquoted qop list (some embedded servers) is not taken for a new challenge.
    expect(parseDigestChallenge('Digest realm="r", qop=auth,auth-int, nonce="n"')).toMatchObject({ realm: 'r', nonce: 'n', qop: 'auth' });
  });

  it('lists every challenge and tells whether Basic is offered', () => {
    const list = parseAuthChallenges('Negotiate, Basic realm="hub", Bearer abc');
    expect(list.map((c) => c.scheme)).toEqual(['negotiate', 'basic', 'bearer']);
    expect(list[1]?.params.get('realm')).toBe('hub');
    expect(offersBasic('Digest realm="basic", nonce="n"')).toBe(false);
    expect(offersBasic('Digest realm="r", nonce="n", Basic realm="r"')).toBe(true);
    expect(basicAuthorization('a', 'b')).toBe('Basic YTpi');
    expect(basicAuthorization('ü', 'p:q')).toBe(`Basic ${Buffer.from('ü:p:q', 'utf8').toString('base64')}`);
  });
});
