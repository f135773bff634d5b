import type { FastifyInstance } from 'fastify';
import { noopLogger, type Logger } from '@energyrecorder/core';
import type { ApiEvent } from '../internal/app.js';
import { createLiveHub, type LiveHub, type LiveHubOptions } from './live-hub.js';
import { dashboardPlugin } from './plugin.js';
import type { DashboardUser } from './internal/basic-auth.js';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** An existing hub; a new one is made otherwise. */
  hub?: LiveHub;
  /** Options of the new hub (ignored when `hub` is given); defaults in `DEFAULT_LIVE_HUB_OPTIONS`. */
  hubOptions?: LiveHubOptions;
  /** Folder of the built front end; defaults to `dist/dashboard` of this package. */
  assetsDir?: string;
  /** The API's users: when given (and reads are protected) the page and its stream ask for them too. */
  auth?: { users: readonly DashboardUser[]; protectReads?: boolean };
  /** Handed to the plugin; nothing with credentials is logged. */
  logger?: Logger;
}

/** The dashboard as the API server wires it: a listener for its events and a registrar for its routes. */
export interface Dashboard {
  readonly hub: LiveHub;
  /** Pass to the app as its `onEvent`: feeds stored measurements and session changes to the live stream. */
  onEvent(event: ApiEvent): void;
  /** Registers the page, its assets and the live stream on the API's Fastify app. */
  register(app: FastifyInstance): Promise<void>;
}

/** Creates the live dashboard for one API server. */
export function createDashboard(options: DashboardOptions = {}): Dashboard {
  const hub = options.hub ?? createLiveHub(options.hubOptions);
  const logger = options.logger ?? noopLogger;
  return {
    hub,
    onEvent(event) {
      if (event.type === 'session') {
        hub.publishSession({
          environment: event.environment,
          scenario: event.scenario,
          step: event.step,
          started: event.running,
          timeNs: event.timeNs,
        });
        return;
      }
      // Only the power series (in any of its units; the hub converts to W) is streamed: a batch of other sensors
      // costs nothing here.
      const { sensor, units } = hub.powerSeries;
      const power =
        event.readingsOf === undefined ? event.readings : units.flatMap((unit) => event.readingsOf?.(sensor, unit) ?? []);
      if (power.length === 0) return;
      hub.publishMeasurements(
        power.map((r) => ({
          environment: event.environment,
          equipment: event.equipment,
          scenario: event.scenario,
          step: event.step,
          sensor: r.sensor,
          unit: r.unit,
          value: r.value,
          timeNs: r.timestampNs,
        })),
      );
    },
    async register(app) {
      await dashboardPlugin(app, {
        hub,
        logger,
        ...(options.assetsDir === undefined ? {} : { assetsDir: options.assetsDir }),
        ...(options.auth === undefined ? {} : { auth: options.auth }),
      });
    },
  };
}
