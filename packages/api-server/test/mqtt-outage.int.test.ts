import { createServer } from 'node:net';
import { mqttSettingsSchema, noopLogger, type LogFields, type Logger } from '@energyrecorder/core';
import { peerAvailable, startMosquitto, waitFor, type MosquittoPeer } from '@energyrecorder/testkit';
import { createMqttRepublisher, type MqttRepublisher } from '../src/internal/mqtt-republisher.js';

/** A logger keeping every warning and info line. */
function captureLogger(): { logger: Logger; lines: Array<{ level: 'warn' | 'info'; message: string; fields: LogFields }> } {
  const lines: Array<{ level: 'warn' | 'info'; message: string; fields: LogFields }> = [];
  const logger: Logger = {
    ...noopLogger,
    warn: (fields, message) => void lines.push({ level: 'warn', message: message ?? '', fields }),
    info: (fields, message) => void lines.push({ level: 'info', message: message ?? '', fields }),
    child: () => logger,
  };
  return { logger, lines };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const settings = (port: number) => mqttSettingsSchema.parse({ host: '127.0.0.1', port });

describe('MQTT republisher while the broker is away', () => {
  it('logs one warning, not one a second, while the broker stays unreachable', async () => {
    const { logger, lines } = captureLogger();
    const mqtt = createMqttRepublisher({ settings: settings(await closedPort()), logger });
    try {
      // mqtt.js retries every second: about five failed attempts.
      await new Promise((r) => setTimeout(r, 4500));
    } finally {
      await mqtt.close(200);
    }
    const errors = lines.filter((l) => l.level === 'warn' && l.message.startsWith('MQTT error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({ err: expect.stringContaining('ECONNREFUSED'), failures: 1 });
  });
});

const have = peerAvailable('mosquitto', ['mosquitto', 'mosquitto_passwd']);

(have ? describe : describe.skip)('MQTT republisher when the broker comes back', () => {
  let broker: MosquittoPeer | undefined;
  let mqtt: MqttRepublisher | undefined;
  afterAll(async () => {
    await mqtt?.close(200);
    await broker?.stop();
  });

  it('says how many attempts failed and for how long when it connects again', async () => {
    const { logger, lines } = captureLogger();
    const port = await closedPort();
    mqtt = createMqttRepublisher({ settings: settings(port), logger });
    mqtt.publish([{ topic: 'nrg/x', payload: '{}' }]);
    await new Promise((r) => setTimeout(r, 2500));
    broker = await startMosquitto({ port });
    await waitFor(() => mqtt?.connected === true, 'MQTT reconnect');
    const connected = lines.find((l) => l.message === 'MQTT connected');
    expect(connected?.fields).toMatchObject({ failedAttempts: expect.any(Number), outageMs: expect.any(Number), queued: 1 });
    expect(Number(connected?.fields['failedAttempts'])).toBeGreaterThanOrEqual(2);
    expect(lines.filter((l) => l.message.startsWith('MQTT error'))).toHaveLength(1);
  });
});
