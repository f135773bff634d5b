import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { destination as pinoDestination, pino } from 'pino';
import type { Logger } from '@energyrecorder/core';
import { createRedfishService } from './redfish-service.js';
import { createMeters, type YoctoRedfishSettings } from './settings.js';
import { LISTEN, LOGGER, METERS, SERVICE, SETTINGS } from './tokens.js';

/** Builds the composition root: settings → logger → meters → service. Registration by factory only. */
export function buildContainer(settings: YoctoRedfishSettings, listen: { host: string; port: number }): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register(SETTINGS, { useValue: settings });
  c.register(LISTEN, { useValue: listen });
  c.register(LOGGER, {
    useFactory: (dc) => {
      const s = dc.resolve(SETTINGS);
      const destination = s.LOG.file === undefined ? pinoDestination(1) : pinoDestination({ dest: s.LOG.file, mkdir: true });
      const root: Logger = pino(
        { name: 'yocto-redfish', level: s.LOG.level, redact: ['password', 'pass', 'token', 'authorization', '*.password', '*.pass', '*.token', '*.authorization'] },
        destination,
      );
      return root;
    },
  });
  c.register(METERS, { useFactory: (dc) => createMeters(dc.resolve(SETTINGS), { logger: dc.resolve(LOGGER) }) });
  c.register(SERVICE, {
    useFactory: (dc) => {
      const s = dc.resolve(SETTINGS);
      const l = dc.resolve(LISTEN);
      return createRedfishService({
        meters: dc.resolve(METERS),
        sumChassis: s.SUM_CHASSIS,
        host: l.host,
        port: l.port,
        pollIntervalMs: s.POLL_INTERVAL_MS,
        metricsIntervalMin: s.METRICS_INTERVAL_MIN,
        logger: dc.resolve(LOGGER),
        ...(s.AUTH === undefined ? {} : { users: s.AUTH.users, sessionTimeoutS: s.AUTH.session_timeout_s, maxSessions: s.AUTH.max_sessions }),
        ...(s.TLS === undefined ? {} : { tls: { cert: readFileSync(s.TLS.cert_file), key: readFileSync(s.TLS.key_file) } }),
      });
    },
  });
  return c;
}
