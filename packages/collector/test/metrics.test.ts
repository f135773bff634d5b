import { LatencyTracker, renderMetrics } from '../src/internal/metrics.js';
import type { EnvironmentStatus } from '../src/internal/scheduler.js';
import type { PusherStatus } from '../src/internal/pusher.js';

const envs: EnvironmentStatus[] = [
  {
    name: 'POD "1"',
    intervalMs: 1000,
    ticks: 10,
    skippedTicks: 1,
    devices: [
      {
        key: 'POD "1"/a',
        environment: 'POD "1"',
        id: 'a\\b',
        type: 'redfish',
        ticks: 10,
        onTimeReads: 9,
        reads: 9,
        failures: 2,
        consecutiveFailures: 1,
        missedTicks: 1,
        backoffSkips: 0,
        abandoned: 0,
        readings: 7,
        malformedReadings: 3,
        busy: false,
        adapterOpen: true,
      },
    ],
  },
];

const push: PusherStatus = {
  pendingBatches: 2,
  spoolBatches: 3,
  spoolReadings: 30,
  spoolBytes: 1234,
  spoolDiskBytes: 2345,
  deliveredBatches: 5,
  deliveredReadings: 50,
  rejectedBatches: 1,
  rejectedReadings: 10,
  notRecordedReadings: 7,
  droppedBatches: 0,
  droppedReadings: 4,
  droppedReadingsThisOutage: 4,
  retries: 6,
  apiReachable: false,
  undeliveredForMs: 0,
};

describe('renderMetrics', () => {
  it('renders per-device counters with escaped labels and queue gauges when given a status', () => {
    const latency = new LatencyTracker();
    latency.observe('a\\b', 0.25, 'POD "1"');
    latency.observe('a\\b', 0.75, 'POD "1"');
    latency.observe('a\\b', 0.5, 'POD 2');
    const text = renderMetrics(envs, push, latency);
    expect(text).toContain(
      'energyrecorder_collector_missed_ticks_total{environment="POD \\"1\\"",device="a\\\\b",type="redfish"} 1',
    );
    expect(text).toContain('energyrecorder_collector_device_up{environment="POD \\"1\\"",device="a\\\\b",type="redfish"} 0');
    expect(text).toContain(
      'energyrecorder_collector_malformed_readings_total{environment="POD \\"1\\"",device="a\\\\b",type="redfish"} 3',
    );
    expect(text).toContain('energyrecorder_collector_queue_batches 5\n');
    expect(text).toContain('energyrecorder_collector_spool_bytes 1234\n');
    expect(text).toContain('energyrecorder_collector_spool_disk_bytes 2345\n');
    expect(text).toContain('energyrecorder_collector_api_up 0\n');
    // Labelled by environment like the other per-device series: one device id may exist in two environments.
    expect(text).toContain(
      'energyrecorder_collector_push_latency_seconds_sum{environment="POD \\"1\\"",device="a\\\\b"} 1\n',
    );
    expect(text).toContain(
      'energyrecorder_collector_push_latency_seconds_count{environment="POD \\"1\\"",device="a\\\\b"} 2\n',
    );
    expect(text).toContain('energyrecorder_collector_push_latency_seconds_count{environment="POD 2",device="a\\\\b"} 1\n');
    expect(text).toContain('energyrecorder_collector_rejected_readings_total 10\n');
    expect(text).toContain('energyrecorder_collector_not_recorded_readings_total 7\n');
    expect(text).toContain('# TYPE energyrecorder_collector_reads_total counter');
  });

  it('keeps the tick series of two PODS entries of one environment apart with an entry label', () => {
    const second: EnvironmentStatus = { name: 'POD "1"', entry: 2, intervalMs: 60_000, ticks: 3, skippedTicks: 0, devices: [] };
    const text = renderMetrics([...envs, second], push, new LatencyTracker());
    expect(text).toContain('energyrecorder_collector_ticks_total{environment="POD \\"1\\""} 10\n');
    expect(text).toContain('energyrecorder_collector_ticks_total{environment="POD \\"1\\"",entry="2"} 3\n');
    expect(text).toContain('energyrecorder_collector_skipped_ticks_total{environment="POD \\"1\\"",entry="2"} 0\n');
  });
});
