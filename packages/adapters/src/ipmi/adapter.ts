import type { AdapterContext, AdapterDefinition, PowerAdapter, Reading } from '@energyrecorder/core';
import { DEFAULT_IPMI, type IpmiConfig, ipmiConfigSchema } from './config.js';
import { IpmitoolDriver } from './internal/ipmitool-driver.js';
import { NativeIpmiDriver } from './internal/native-driver.js';
import { PRIVILEGE_LEVELS } from './internal/commands.js';
import { errorMessage } from '../internal/device-support.js';

/** Extra knobs for tests and benchmarks; the config file cannot set them. */
export interface IpmiAdapterOptions {
  /** Program run by `driver: ipmitool`; default `ipmitool` from PATH. */
  ipmitoolCommand?: string;
  /** Native driver: idle time after which the session is reopened before use; default 30 s. */
  idleReopenMs?: number;
  /** Native driver: clock in epoch ms for the idle check; default `Date.now`. */
  now?: () => number;
}

/**
 * Creates an `ipmi` adapter: native RMCP+ (default) or `ipmitool`. It connects on the first read, keeps the
 * session across reads and reopens it when the BMC dropped it.
 */
export function createIpmiAdapter(
  config: IpmiConfig,
  ctx: AdapterContext,
  options: IpmiAdapterOptions = {},
): PowerAdapter {
  const timeoutMs = config.timeout === undefined ? ctx.requestTimeoutMs : config.timeout * 1000;
  // The collector aborts the read at its request timeout. When that is the only timeout, the native driver's
  // retransmissions get half of it, so that a session the BMC dropped leaves time to open a new one in the same
  // read instead of the read being aborted.
  const nativeTimeoutMs = config.timeout === undefined ? Math.floor(ctx.requestTimeoutMs / 2) : timeoutMs;
  const target = `${config.address}:${config.port}`;
  const logger = ctx.logger.child({ adapter: 'ipmi', target, driver: config.driver });
  if (config.driver === 'ipmitool' && timeoutMs < 2000) {
    // The run is killed at the timeout, before ipmitool sends Close Session: each lost packet then leaves a
    // session on the BMC until its idle timeout, and BMCs hold only 4-16.
    logger.warn(
      { timeoutMs },
      'driver ipmitool with a request timeout under 2 s: every timed-out read may leak a BMC session; ' +
        'use driver native or a timeout of at least 2 s',
    );
  }
  const driver =
    config.driver === 'ipmitool'
      ? new IpmitoolDriver({
          host: config.address,
          port: config.port,
          user: config.user,
          password: config.pass,
          cipherSuite: config.cipher_suite,
          privilege: config.privilege,
          bridgeAddress: config.bridgeAddress,
          bridgeChannel: config.bridge_channel,
          sensors: config.sensors,
          timeoutMs,
          command: options.ipmitoolCommand,
          logger,
        })
      : new NativeIpmiDriver({
          host: config.address,
          port: config.port,
          user: config.user,
          password: config.pass,
          cipherSuite: config.cipher_suite,
          privilege: PRIVILEGE_LEVELS[config.privilege],
          bridge:
            config.bridgeAddress === undefined
              ? undefined
              : { address: config.bridgeAddress, channel: config.bridge_channel },
          sensors: config.sensors,
          timeoutMs: nativeTimeoutMs,
          attempts: DEFAULT_IPMI.attempts,
          version: config.ipmi_version,
          logger,
          idleReopenMs: options.idleReopenMs,
          now: options.now,
        });
  let closed = false;
  return {
    async read(signal: AbortSignal): Promise<Reading[]> {
      return driver.read(signal);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await driver.close();
      } catch (err) {
        logger.debug({ err: errorMessage(err) }, 'ipmi close failed');
      }
    },
  };
}

/** The `ipmi` adapter definition for the registry. */
export const ipmiAdapter: AdapterDefinition<typeof ipmiConfigSchema> = Object.freeze({
  type: 'ipmi',
  description: 'IPMI v2.0 (RMCP+) BMC: DCMI power reading or SDR power sensors, natively or through ipmitool',
  configSchema: ipmiConfigSchema,
  create: (config: IpmiConfig, ctx: AdapterContext) => createIpmiAdapter(config, ctx),
});
