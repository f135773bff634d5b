import { AdapterError, noopLogger } from '@energyrecorder/core';
import { DeviceErrors, deviceTimeoutMs, lazyLoader } from '../../src/internal/device-support.js';

describe('deviceTimeoutMs', () => {
  const ctx = (requestTimeoutMs: number) => ({ logger: noopLogger, requestTimeoutMs, equipmentId: 'd' });

  it('prefers the device key, then the collector, then the default when each is missing', () => {
    expect(deviceTimeoutMs(1.5, ctx(4000), 3)).toBe(1500);
    expect(deviceTimeoutMs(undefined, ctx(4000), 3)).toBe(4000);
    expect(deviceTimeoutMs(undefined, ctx(0), 3)).toBe(3000);
  });
});

describe('lazyLoader', () => {
  it('loads once when called repeatedly', async () => {
    let loads = 0;
    const load = lazyLoader(async () => ++loads);
    expect(await Promise.all([load(), load(), load()])).toEqual([1, 1, 1]);
  });

  it('tries again on the next call when a load failed', async () => {
    let loads = 0;
    const load = lazyLoader(async () => {
      loads += 1;
      if (loads === 1) throw new Error('driver missing');
      return loads;
    });
    await expect(load()).rejects.toThrow('driver missing');
    expect(await load()).toBe(2);
  });
});

describe('DeviceErrors', () => {
  const errors = new DeviceErrors('snmp', '10.0.0.1:161');

  it('fills in the adapter type and target when building an error', () => {
    const err = errors.error('no answer', { code: 'ER_SNMP_TIMEOUT' });
    expect([err.adapterType, err.target, err.code, err.retryable]).toEqual(['snmp', '10.0.0.1:161', 'ER_SNMP_TIMEOUT', true]);
  });

  it('names an abort and passes adapter errors through when they reach the common cases', () => {
    const own = new AdapterError('x', { adapterType: 'snmp', target: 't', code: 'ER_SNMP_AUTH', retryable: false });
    const aborted = AbortSignal.abort();
    expect(errors.common(own, aborted)).toBe(own);
    expect(errors.common(new Error('socket closed'), aborted)?.code).toBe('ER_ABORTED');
    expect(errors.common(new Error('socket closed'), new AbortController().signal)).toBeUndefined();
  });
});
