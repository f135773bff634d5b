import { EnergyRecorder, optionsFromEnv, optionsFromLegacyConfig, resolveRecorderOptions, SdkError } from '../src/index.js';

describe('optionsFromEnv', () => {
  it('reads every variable and lets overrides win when both are given', () => {
    const options = optionsFromEnv(
      {
        NODE_NAME: 'pod',
        ENERGY_RECORDER_API_URL: 'https://api.example.test/resources',
        ENERGY_RECORDER_API_USER: 'u',
        ENERGY_RECORDER_API_PASSWORD: 'p',
        ENERGY_RECORDER_TIMEOUT_MS: '1500',
        ENERGY_RECORDER_RETRY_AFTER_MS: '0',
      },
      { environment: 'other' },
    );
    expect(options).toEqual({
      environment: 'other',
      apiUrl: 'https://api.example.test/resources',
      user: 'u',
      password: 'p',
      timeoutMs: 1500,
      retryAfterMs: 0,
    });
  });
});

describe('resolveRecorderOptions', () => {
  it('applies the defaults and strips trailing slashes when only the environment is given', () => {
    const resolved = resolveRecorderOptions({ environment: 'pod', apiUrl: 'http://h:8080/resources/' });
    expect(resolved).toMatchObject({ apiUrl: 'http://h:8080/resources', timeoutMs: 4000, retryAfterMs: 30000, authorization: undefined });
  });

  it('refuses a non-integer timeout and an URL that is not http(s), naming both', () => {
    expect(() => resolveRecorderOptions({ environment: 'pod', apiUrl: 'ftp://a:b@h/resources', timeoutMs: 1.5 })).toThrow(
      SdkError,
    );
    try {
      resolveRecorderOptions({ environment: 'pod', apiUrl: 'ftp://a:b@h/resources', timeoutMs: 1.5 });
    } catch (err) {
      expect((err as SdkError).issues.map((i) => i.path)).toEqual(['apiUrl', 'timeoutMs']);
      expect((err as SdkError).message).not.toContain('a:b');
    }
  });
});

describe('credentials in the API URL', () => {
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;

  it('takes them off the URL and sends them percent-decoded as Basic auth when the URL carries user:pass@', () => {
    const resolved = resolveRecorderOptions({ environment: 'pod', apiUrl: 'http://ci%40corp:p%3Ass%20w%C3%A9@h:8888/resources/' });
    expect(resolved.apiUrl).toBe('http://h:8888/resources');
    expect(resolved.authorization).toBe(basic('ci@corp', 'p:ss wé'));
  });

  it('sends the user with an empty password when the URL carries only a user, as requests does', () => {
    expect(resolveRecorderOptions({ environment: 'pod', apiUrl: 'http://token@h/resources' })).toMatchObject({
      apiUrl: 'http://h/resources',
      authorization: basic('token', ''),
    });
  });

  it('lets the user and password options win when both are given, and the URL win when only one is', () => {
    const url = 'http://from-url:url-pw@h/resources';
    expect(resolveRecorderOptions({ environment: 'pod', apiUrl: url, user: 'opt', password: 'opt-pw' })).toMatchObject({
      apiUrl: 'http://h/resources',
      authorization: basic('opt', 'opt-pw'),
    });
    expect(resolveRecorderOptions({ environment: 'pod', apiUrl: url, user: 'opt' }).authorization).toBe(basic('from-url', 'url-pw'));
  });

  it('reads them from ENERGY_RECORDER_API_URL and keeps them out of the recorder URL when built from the environment', () => {
    const rec = EnergyRecorder.fromEnv({ NODE_NAME: 'pod', ENERGY_RECORDER_API_URL: 'https://ci:s3cret@api.example.test:8443/resources' });
    expect(rec.disabledReason).toBeUndefined();
    expect(rec.apiUrl).toBe('https://api.example.test:8443/resources');
  });

  it('reads them from the legacy energy_recorder.api_url key when user and password are empty', () => {
    const options = optionsFromLegacyConfig({ energy_recorder: { api_url: 'http://u:p@opnfv.fr:8888/resources', api_user: '', api_password: '' } }, 'pod');
    expect(resolveRecorderOptions(options)).toMatchObject({ apiUrl: 'http://opnfv.fr:8888/resources', authorization: basic('u', 'p') });
  });
});

describe('duration bounds', () => {
  function issuesOf(build: () => unknown): { path: string; message: string }[] {
    try {
      build();
    } catch (err) {
      return [...(err as SdkError).issues];
    }
    return [];
  }

  it('names each variable when ENERGY_RECORDER_TIMEOUT_MS or _RETRY_AFTER_MS exceeds the timer range', () => {
    const issues = issuesOf(() =>
      EnergyRecorder.fromEnv({ NODE_NAME: 'pod', ENERGY_RECORDER_TIMEOUT_MS: '3000000000', ENERGY_RECORDER_RETRY_AFTER_MS: '2147483648' }),
    );
    expect(issues.map((i) => i.path)).toEqual(['ENERGY_RECORDER_TIMEOUT_MS', 'ENERGY_RECORDER_RETRY_AFTER_MS']);
    expect(issues[0]?.message).toContain('<= 2147483647');
  });

  it('accepts 2147483647 ms when given as an option', () => {
    expect(resolveRecorderOptions({ environment: 'pod', timeoutMs: 2_147_483_647, retryAfterMs: 2_147_483_647 }).timeoutMs).toBe(2_147_483_647);
    expect(issuesOf(() => resolveRecorderOptions({ environment: 'pod', timeoutMs: 2_147_483_648 })).map((i) => i.path)).toEqual(['timeoutMs']);
  });
});

describe('optionsFromLegacyConfig', () => {
  it('reads the functest energy_recorder keys when nested or dotted', () => {
    expect(
      optionsFromLegacyConfig({ energy_recorder: { api_url: 'http://opnfv.fr:8888/resources', api_user: '', api_password: '' } }, 'pod'),
    ).toEqual({ environment: 'pod', apiUrl: 'http://opnfv.fr:8888/resources' });
    expect(optionsFromLegacyConfig({ 'energy_recorder.api_url': 'http://x/resources', 'energy_recorder.api_user': 'u', 'energy_recorder.api_password': 'p' }, 'pod')).toEqual({
      environment: 'pod',
      apiUrl: 'http://x/resources',
      user: 'u',
      password: 'p',
    });
  });
});
