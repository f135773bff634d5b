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

  it('refuses credentials embedded in the URL and a non-integer timeout', () => {
    expect(() => resolveRecorderOptions({ environment: 'pod', apiUrl: 'http://a:b@h/resources', timeoutMs: 1.5 })).toThrow(
      SdkError,
    );
    try {
      resolveRecorderOptions({ environment: 'pod', apiUrl: 'http://a:b@h/resources', timeoutMs: 1.5 });
    } catch (err) {
      expect((err as SdkError).issues.map((i) => i.path)).toEqual(['apiUrl', 'timeoutMs']);
    }
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
