import { z } from 'zod';
import { AdapterError, HttpStatusError, nowNs, type AdapterDefinition, type PowerAdapter, type Reading } from '@energyrecorder/core';

/** The twelve adapter types of the original, with their sample keys: enough to load the original's file. */
export const originalTypeStubs: AdapterDefinition[] = [
  'redfish',
  'ilo',
  'ilo-gui',
  'idrac8-gui',
  'intel-gui',
  'ibmc-gui',
  'ipmi',
  'modbus',
  'snmp',
  'csvftp',
  'rpimon',
  'shelly',
].map((type) => ({
  type,
  description: `stub of ${type}`,
  configSchema: z.looseObject({ host: z.string().min(1) }),
  create: () => ({ read: async () => [], close: async () => undefined }),
}));

/** What a scripted device does on one read. */
export type Behaviour =
  | { kind: 'ok'; value: number }
  | { kind: 'fail' }
  /** Fails as a device answering 503 with a `Retry-After` of `retryAfterMs`. */
  | { kind: 'busy'; retryAfterMs: number }
  /** Resolves after `ms`, honouring the abort signal. */
  | { kind: 'slow'; ms: number; value: number }
  /** Never settles on its own; rejects when its signal aborts. */
  | { kind: 'hang' }
  /** Never settles and ignores its signal. */
  | { kind: 'hang-ignore' }
  /** Resolves with `value` as it is: what a buggy adapter might return instead of a list of readings. */
  | { kind: 'garbage'; value: unknown };

/** Shared state of scripted devices, keyed by device name. */
export interface ScriptState {
  behaviour: Map<string, Behaviour>;
  created: Map<string, number>;
  closed: Map<string, number>;
  reads: Map<string, number>;
  acked: Map<string, Reading[]>;
  /** Devices whose `close()` never settles, as a wedged driver's. */
  hangClose: Set<string>;
}

export function newScriptState(): ScriptState {
  return {
    behaviour: new Map(),
    created: new Map(),
    closed: new Map(),
    reads: new Map(),
    acked: new Map(),
    hangClose: new Set(),
  };
}

const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

/** An adapter type `scripted` whose reads follow `state.behaviour.get(name)`. */
export function scriptedAdapter(state: ScriptState, timeSource: () => number = nowNs): AdapterDefinition {
  const schema = z.looseObject({ name: z.string().min(1) });
  return {
    type: 'scripted',
    description: 'test device driven by a script',
    configSchema: schema,
    create(config: z.output<typeof schema>): PowerAdapter {
      const name = config.name;
      bump(state.created, name);
      return {
        async read(signal: AbortSignal): Promise<Reading[]> {
          bump(state.reads, name);
          const b = state.behaviour.get(name) ?? { kind: 'ok', value: 1 };
          const reading = (value: number): Reading[] => [
            { sensor: 'power', unit: 'W', value, timestampNs: timeSource() },
          ];
          switch (b.kind) {
            case 'ok':
              return reading(b.value);
            case 'fail':
              throw new AdapterError('scripted failure', { adapterType: 'scripted', target: name });
            case 'busy':
              throw new AdapterError('scripted 503', {
                adapterType: 'scripted',
                target: name,
                cause: new HttpStatusError('HTTP 503', { status: 503, retryAfterMs: b.retryAfterMs }),
              });
            case 'slow':
              await new Promise<void>((resolve, reject) => {
                const t = setTimeout(resolve, b.ms);
                signal.addEventListener('abort', () => {
                  clearTimeout(t);
                  reject(signal.reason);
                });
              });
              return reading(b.value);
            case 'hang':
              return new Promise<Reading[]>((_resolve, reject) => {
                signal.addEventListener('abort', () => reject(signal.reason));
              });
            case 'hang-ignore':
              return new Promise<Reading[]>(() => undefined);
            case 'garbage':
              return b.value as Reading[];
          }
        },
        async acknowledge(readings: readonly Reading[]): Promise<void> {
          state.acked.set(name, [...(state.acked.get(name) ?? []), ...readings]);
        },
        async close(): Promise<void> {
          bump(state.closed, name);
          if (state.hangClose.has(name)) await new Promise<void>(() => undefined);
        },
      };
    },
  };
}
