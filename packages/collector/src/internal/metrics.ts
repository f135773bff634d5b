import type { EnvironmentStatus } from './scheduler.js';
import type { PusherStatus } from './pusher.js';

/** Sum and count of push latencies per environment and device: a Prometheus summary without quantiles. */
export class LatencyTracker {
  private readonly byDevice = new Map<string, { environment: string; device: string; sum: number; count: number }>();

  observe(device: string, seconds: number, environment = ''): void {
    const key = `${environment}\u0000${device}`;
    const entry = this.byDevice.get(key);
    if (entry === undefined) this.byDevice.set(key, { environment, device, sum: seconds, count: 1 });
    else {
      entry.sum += seconds;
      entry.count++;
    }
  }

  entries(): { environment: string; device: string; sum: number; count: number }[] {
    return [...this.byDevice.values()].map((e) => ({ ...e }));
  }
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Renders the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(envs: readonly EnvironmentStatus[], pusher: PusherStatus, latency: LatencyTracker): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge' | 'summary', help: string): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const perDevice = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    pick: (d: EnvironmentStatus['devices'][number]) => number,
  ): void => {
    family(name, type, help);
    for (const env of envs) {
      for (const d of env.devices) {
        out.push(`${name}{environment="${label(env.name)}",device="${label(d.id)}",type="${label(d.type)}"} ${pick(d)}`);
      }
    }
  };
  perDevice('energyrecorder_collector_reads_total', 'counter', 'Device reads started.', (d) => d.reads);
  perDevice('energyrecorder_collector_read_failures_total', 'counter', 'Device reads that failed.', (d) => d.failures);
  perDevice('energyrecorder_collector_missed_ticks_total', 'counter', 'Ticks missed because the device was busy.', (d) => d.missedTicks);
  perDevice('energyrecorder_collector_backoff_skips_total', 'counter', 'Ticks skipped during back-off.', (d) => d.backoffSkips);
  perDevice('energyrecorder_collector_readings_total', 'counter', 'Readings produced.', (d) => d.readings);
  perDevice(
    'energyrecorder_collector_malformed_readings_total',
    'counter',
    'Entries an adapter returned that were not readings, dropped.',
    (d) => d.malformedReadings,
  );
  perDevice('energyrecorder_collector_device_up', 'gauge', '1 when the last read succeeded.', (d) => (d.consecutiveFailures === 0 ? 1 : 0));
  // An environment's second and later PODS entries tick on their own: an `entry` label keeps their series apart,
  // and leaves the series of the usual single entry as it was.
  const envLabels = (env: EnvironmentStatus): string =>
    `environment="${label(env.name)}"${env.entry === undefined || env.entry === 1 ? '' : `,entry="${env.entry}"`}`;
  family('energyrecorder_collector_ticks_total', 'counter', 'Ticks served per environment.');
  for (const env of envs) out.push(`energyrecorder_collector_ticks_total{${envLabels(env)}} ${env.ticks}`);
  family('energyrecorder_collector_skipped_ticks_total', 'counter', 'Ticks not served because the event loop was blocked.');
  for (const env of envs) out.push(`energyrecorder_collector_skipped_ticks_total{${envLabels(env)}} ${env.skippedTicks}`);
  const gauge = (name: string, help: string, value: number, type: 'counter' | 'gauge' = 'gauge'): void => {
    family(name, type, help);
    out.push(`${name} ${value}`);
  };
  gauge('energyrecorder_collector_queue_batches', 'Batches waiting (memory and spool).', pusher.pendingBatches + pusher.spoolBatches);
  gauge('energyrecorder_collector_spool_batches', 'Batches in the on-disk spool.', pusher.spoolBatches);
  gauge('energyrecorder_collector_spool_readings', 'Readings in the on-disk spool.', pusher.spoolReadings);
  gauge('energyrecorder_collector_spool_bytes', 'Bytes of the batches waiting in the on-disk spool.', pusher.spoolBytes);
  gauge('energyrecorder_collector_spool_disk_bytes', 'Bytes of the spool files on disk (bounded by spool_max_bytes).', pusher.spoolDiskBytes);
  gauge('energyrecorder_collector_delivered_batches_total', 'Batches confirmed by the API.', pusher.deliveredBatches, 'counter');
  gauge('energyrecorder_collector_delivered_readings_total', 'Readings confirmed by the API.', pusher.deliveredReadings, 'counter');
  gauge('energyrecorder_collector_rejected_batches_total', 'Batches the API refused for their content (400, 409, 422), dropped.', pusher.rejectedBatches, 'counter');
  gauge('energyrecorder_collector_rejected_readings_total', 'Readings of the batches the API refused for their content, dropped.', pusher.rejectedReadings, 'counter');
  gauge('energyrecorder_collector_not_recorded_readings_total', 'Readings sent while no scenario ran, which an API with ALWAYS_RECORD false does not record.', pusher.notRecordedReadings, 'counter');
  gauge('energyrecorder_collector_dropped_readings_total', 'Readings dropped: spool full, memory queue full while the spool was unwritable, or corrupt in the spool.', pusher.droppedReadings, 'counter');
  gauge('energyrecorder_collector_push_retries_total', 'Push rounds that failed and were retried.', pusher.retries, 'counter');
  gauge('energyrecorder_collector_api_up', '1 when the last push round reached the API.', pusher.apiReachable ? 1 : 0);
  family('energyrecorder_collector_push_latency_seconds', 'summary', 'POST latency per device.');
  for (const { environment, device, sum, count } of latency.entries()) {
    const labels = `environment="${label(environment)}",device="${label(device)}"`;
    out.push(`energyrecorder_collector_push_latency_seconds_sum{${labels}} ${sum}`);
    out.push(`energyrecorder_collector_push_latency_seconds_count{${labels}} ${count}`);
  }
  return `${out.join('\n')}\n`;
}
