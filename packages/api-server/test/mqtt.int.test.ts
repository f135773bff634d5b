import mqtt from 'mqtt';
import { peerAvailable, startMosquitto, waitFor, type MosquittoPeer } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../src/index.js';
import { nsFromNow, sendJson } from './helpers.js';

const have = peerAvailable('mosquitto', ['mosquitto', 'mosquitto_passwd']);

(have ? describe : describe.skip)('MQTT republish', () => {
  let broker: MosquittoPeer;
  let api: ApiServer;
  let url: string;
  let sub: mqtt.MqttClient;
  const received: Array<{ topic: string; payload: Record<string, unknown> }> = [];

  beforeAll(async () => {
    // Persistent, as a production broker: the watcher's subscription (clean: false) and the QoS 1 messages queued
    // for it survive the restart, whichever of the API and the watcher reconnects first.
    broker = await startMosquitto({ users: [{ user: 'api', pass: 'secret' }, { user: 'watch', pass: 'w' }], persistent: true });
    api = createApiServer({
      settings: { MQTT: { host: '127.0.0.1', port: broker.port, user: 'api', pass: 'secret', base_path: 'nrg', qos: 1 } },
      port: 0,
      storePath: ':memory:',
    });
    url = await api.listen();
    sub = mqtt.connect({ host: '127.0.0.1', port: broker.port, username: 'watch', password: 'w', reconnectPeriod: 300, clean: false, clientId: 'watcher' });
    sub.on('message', (topic, buf) => received.push({ topic, payload: JSON.parse(buf.toString('utf8')) as Record<string, unknown> }));
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe('nrg/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    });
  });
  afterAll(async () => {
    await new Promise<void>((r) => sub?.end(true, {}, () => r()));
    await api?.close();
    await broker?.stop();
  });

  it('publishes each stored reading on a sanitised topic with an ns timestamp', async () => {
    await sendJson(url, 'POST', '/resources/recorders/environment/pod%2B1', { scenario: 'S', step: 'st' });
    const t = nsFromNow();
    const r = await sendJson(url, 'POST', '/resources/equipments/srv%231/measurements', {
      environment: 'pod+1',
      topology: { rack: 'r1' },
      measurements: [{ sensor: 'in/let', unit: 'Celsius', value: 21.5, time: t }],
    });
    expect(r.status).toBe(200);
    await waitFor(() => received.length >= 1, 'first MQTT message');
    expect(received[0]?.topic).toBe('nrg/pod_1/srv_1/in_let');
    expect(received[0]?.payload).toEqual({
      environment: 'pod+1',
      equipement: 'srv#1',
      scenario: 'S',
      step: 'st',
      sensor: 'in/let',
      unit: 'Celsius',
      value: 21.5,
      timestamp: t,
      topology: { rack: 'r1' },
    });
  });

  it('refuses a C1 control in a name and keeps publishing what follows, when a batch holds one', async () => {
    // mosquitto drops a connection whose topic holds U+0085; at QoS 1 the publish was re-sent at every reconnect.
    const bad = await sendJson(url, 'POST', '/resources/equipments/c1/measurements', { environment: 'c1', measurements: [{ sensor: 'bad\u0085x', unit: 'W', value: 2 }] });
    expect(bad.status).toBe(400);
    const before = received.length;
    for (let i = 0; i < 3; i++) {
      const ok = await sendJson(url, 'POST', '/resources/equipments/c1/measurements', { environment: 'c1', measurements: [{ sensor: `ok-${i}`, unit: 'W', value: i }] });
      expect(ok.status).toBe(200);
    }
    await waitFor(() => received.length >= before + 3, 'the three readings after the refused one');
    expect(received.slice(before).map((m) => m.topic)).toEqual(['nrg/c1/c1/ok-0', 'nrg/c1/c1/ok-1', 'nrg/c1/c1/ok-2']);
  });

  it('keeps storing while the broker is down and replays the queue when it returns', async () => {
    received.length = 0;
    await broker.pause();
    // Distinct times: two readings of one series at the same ns are one point (a re-send overwrites).
    const t0 = nsFromNow();
    for (let i = 0; i < 5; i++) {
      const r = await sendJson(url, 'POST', '/resources/equipments/e/measurements', {
        environment: 'outage',
        measurements: [{ sensor: 'power', unit: 'W', value: i, time: t0 + i * 1e6 }],
      });
      expect(r.status).toBe(200);
    }
    const stored = await api.store.queryPower({ environment: 'outage', sensor: 'power', unit: 'W', fromNs: nsFromNow(-60), toNs: nsFromNow(60) });
    expect(stored).toHaveLength(5);
    await broker.restart();
    await waitFor(() => received.filter((m) => m.topic === 'nrg/outage/e/power').length >= 5, 'replayed messages', 20_000);
    expect(received.filter((m) => m.topic === 'nrg/outage/e/power').map((m) => m.payload['value'])).toEqual([0, 1, 2, 3, 4]);
  });
});
