import { createWarningThrottle, DEFAULT_MQTT_WARNING_REPEAT } from '../src/internal/mqtt-republisher.js';

describe('createWarningThrottle', () => {
  it('logs the first failure, then after 1, 2, 4, 8 min and every 15 min when a broker stays away for an hour', () => {
    const clock = { ms: 0 };
    const throttle = createWarningThrottle(DEFAULT_MQTT_WARNING_REPEAT, () => clock.ms);
    const logged: Array<{ atS: number; notLogged: number; failures: number }> = [];
    // mqtt.js reports a failed reconnect every second.
    for (let s = 0; s <= 3600; s++) {
      clock.ms = s * 1000;
      const d = throttle.hit();
      if (d.log) logged.push({ atS: s, notLogged: d.notLogged, failures: d.failures });
    }
    expect(logged.map((l) => l.atS)).toEqual([0, 60, 180, 420, 900, 1800, 2700, 3600]);
    expect(logged[1]).toEqual({ atS: 60, notLogged: 59, failures: 61 });
    // Every failure is either logged or counted in the next logged one.
    expect(logged.reduce((n, l) => n + 1 + l.notLogged, 0)).toBe(3601);
  });

  it('ends the run when the broker answers, and logs the first failure of the next outage at once', () => {
    const clock = { ms: 0 };
    const throttle = createWarningThrottle({ firstRepeatMs: 60_000, maxRepeatMs: 900_000 }, () => clock.ms);
    expect(throttle.end()).toBeUndefined();
    for (let s = 0; s < 5; s++) {
      clock.ms = s * 1000;
      throttle.hit();
    }
    expect(throttle.end()).toEqual({ failures: 5, durationMs: 4000 });
    clock.ms = 10_000;
    expect(throttle.hit()).toEqual({ log: true, notLogged: 0, failures: 1 });
    clock.ms = 11_000;
    expect(throttle.hit().log).toBe(false);
  });
});
