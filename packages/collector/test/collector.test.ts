import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { makeTempDir, removeDir, waitFor } from '@energyrecorder/testkit';
import { Collector } from '../src/collector.js';
import { parseCollectorConfigText } from '../src/internal/config.js';
import type { ApiTransport } from '../src/internal/transport.js';
import { newScriptState, scriptedAdapter, type ScriptState } from './helpers/test-adapters.js';

/** An API that is never reachable, without any network traffic: every batch stays in the spool. */
const downTransport = (): ApiTransport => ({
  post: async () => ({ kind: 'retry', message: 'ECONNREFUSED' }),
  close: async () => undefined,
});

function config(state: ScriptState, spoolDir: string): ReturnType<typeof parseCollectorConfigText> {
  const registry = createAdapterRegistry([scriptedAdapter(state)]);
  return parseCollectorConfigText(
    `PODS:
  - environment: E
    polling_interval: 0.1
    servers: [{id: m1, type: scripted, name: m1}]
RECORDER_API_SERVER: {base_url: "http://127.0.0.1:9"}
COLLECTOR: {spool_dir: "${spoolDir}", flush_interval_ms: 60000}
`,
    registry,
  );
}

describe('Collector', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('collector-unit');
  });
  afterEach(() => removeDir(dir));

  it('releases the spool lock when create fails after opening the spool', async () => {
    const state = newScriptState();
    const failing = (): ApiTransport => {
      throw new ConfigError([{ path: 'RECORDER_API_SERVER.ca_file', message: 'cannot read' }]);
    };
    await expect(Collector.create({ config: config(state, dir), createTransport: failing })).rejects.toMatchObject({
      code: 'ER_CONFIG',
    });
    expect(existsSync(join(dir, 'lock.pid'))).toBe(false);
    const c = await Collector.create({ config: config(state, dir), createTransport: downTransport, spoolFsync: false });
    await c.stop(100);
  });

  it('spools the queued batches before waiting for an adapter whose close() never settles when stopped', async () => {
    const state = newScriptState();
    state.hangClose.add('m1');
    const c = await Collector.create({
      config: config(state, dir),
      createTransport: downTransport,
      spoolFsync: false,
      adapterCloseTimeoutMs: 2000,
    });
    await c.start();
    await waitFor(() => c.status().push.pendingBatches >= 2, 'readings queued in memory', 5000, 20);
    const started = Date.now();
    let stopped = false;
    const stopping = c.stop(1000).then(() => void (stopped = true));
    await waitFor(
      () => c.status().push.pendingBatches === 0 && c.status().push.spoolBatches > 0,
      'queued batches in the spool',
      5000,
      20,
    );
    // Spooled while the adapter's close was still being waited for.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stopped).toBe(false);
    await stopping;
    expect(Date.now() - started).toBeLessThan(4000);
    expect(state.closed.get('m1')).toBe(1);
  });
});
