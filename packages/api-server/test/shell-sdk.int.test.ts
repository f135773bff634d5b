import { connect } from 'node:net';
import { getFreePort, makeTempDir, removeDir } from '@energyrecorder/testkit';
import { createApiServer, type ApiServer } from '../src/index.js';
import { nsFromNow, raw, sendJson } from './helpers.js';

// The original Bash SDK (`SDK/shell/energy.sh`, seed-behaviour §4.7) reads the API through `curl -i -s` output:
// `grep "200 OK"` / `grep "404 NOT FOUND"` for the outcome, and for the current session the line holding
// `"scenario":`, split on blanks as awk does, field 6 without `"` and `}`, and the line holding `"step":`, field 4
// without `"` and `,`. That works only on the body Python's json.dumps wrote. Its calls are replayed here over a
// raw socket, and its extraction redone on the bytes as curl prints them.

/** What `curl -i -s` prints for one request: the status line and headers as sent, a blank line, the body. */
function curlI(base: string, method: string, path: string, body?: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      if (/^transfer-encoding:\s*chunked/im.test(text)) reject(new Error('chunked answer: curl would print it de-chunked'));
      else resolve(text);
    });
    const head = [`${method} ${path} HTTP/1.1`, `Host: ${u.host}`, 'User-Agent: curl/7.88.1', 'Accept: application/json'];
    if (body !== undefined) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
    head.push('Connection: close');
    socket.end(`${head.join('\r\n')}\r\n\r\n${body ?? ''}`);
  });
}

/** `grep <needle> | awk '{print $<field>}'`: the field of every matching line, one per line. */
function grepAwk(output: string, needle: string, field: number): string {
  return output
    .split('\n')
    .filter((line) => line.includes(needle))
    .map((line) => line.trim().split(/[ \t]+/)[field - 1] ?? '')
    .join('\n');
}

/** The shell SDK's functions, as energy.sh runs them, for one environment. */
class ShellSdk {
  currentScenario = '';
  currentStep = '';
  storedScenario = '';
  storedStep = '';
  /** Every `curl -i` output, for the assertions. */
  readonly outputs: string[] = [];

  constructor(
    private readonly base: string,
    private readonly env: string,
  ) {}

  private async curl(method: string, suffix: string, body?: string): Promise<string> {
    const out = await curlI(this.base, method, `/resources/recorders/environment/${this.env}${suffix}`, body);
    this.outputs.push(out);
    return out;
  }

  async submitScenario(scenario: string, step: string): Promise<boolean> {
    return (await this.curl('POST', '', `{"step": "${step}", "scenario": "${scenario}"}`)).includes('200 OK');
  }

  async setStep(step: string): Promise<boolean> {
    return (await this.curl('POST', '/step', `{"step": "${step}"}`)).includes('200 OK');
  }

  async stop(): Promise<boolean> {
    return (await this.curl('DELETE', '')).includes('200 OK');
  }

  async start(scenario: string): Promise<boolean> {
    return this.submitScenario(scenario, 'running');
  }

  async getCurrentScenario(): Promise<void> {
    this.currentScenario = '';
    this.currentStep = '';
    const out = await this.curl('GET', '');
    if (out.includes('404 NOT FOUND') || !out.includes('200 OK')) return;
    this.currentScenario = grepAwk(out, '"scenario":', 6).replace(/"/g, '').replace(/\}/g, '');
    this.currentStep = grepAwk(out, '"step":', 4).replace(/"/g, '').replace(/,/g, '');
  }

  async beginSession(scenario: string): Promise<void> {
    await this.getCurrentScenario();
    this.storedScenario = this.currentScenario;
    this.storedStep = this.currentStep;
    await this.start(scenario);
  }

  async finishSession(): Promise<boolean> {
    this.currentScenario = this.storedScenario;
    this.currentStep = this.storedStep;
    if (this.currentScenario === '' || this.currentStep === '') return this.stop();
    return this.submitScenario(this.currentScenario, this.currentStep);
  }
}

describe('recording API answers read by the original shell SDK (embedded store)', () => {
  let api: ApiServer;
  let url: string;

  beforeAll(async () => {
    api = createApiServer({ port: 0 });
    url = await api.listen();
  });
  afterAll(async () => {
    await api.close();
  });

  it('restores the outer scenario at its step when a nested session finishes', async () => {
    const sdk = new ShellSdk(url, 'shell-pod');
    await sdk.beginSession('outer');
    expect(sdk.outputs[0]).toMatch(/^HTTP\/1\.1 404 NOT FOUND\r\n/);
    expect(await sdk.setStep('outer-step')).toBe(true);
    await sdk.beginSession('inner');
    expect({ scenario: sdk.storedScenario, step: sdk.storedStep }).toEqual({ scenario: 'outer', step: 'outer-step' });
    expect(await sdk.setStep('inner-step')).toBe(true);
    expect(await sdk.finishSession()).toBe(true);

    const now = await raw(url, 'GET', '/resources/recorders/environment/shell-pod');
    expect(now.json).toEqual({ environment: 'shell-pod', scenario: 'outer', step: 'outer-step' });
    await sdk.getCurrentScenario();
    expect({ scenario: sdk.currentScenario, step: sdk.currentStep }).toEqual({ scenario: 'outer', step: 'outer-step' });
    expect(await sdk.stop()).toBe(true);
    for (const out of sdk.outputs.slice(1)) expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("writes the session as Python's json.dumps did: one line, its separators and key order, a newline, JSON", async () => {
    const out = await curlI(url, 'POST', '/resources/recorders/environment/fmt-pod', '{"step": "S", "scenario": "C"}');
    const [head, body] = out.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
    const line = '{"environment": "fmt-pod", "step": "S", "scenario": "C"}\n';
    expect(body).toBe(line);
    expect(JSON.parse(body)).toEqual({ environment: 'fmt-pod', step: 'S', scenario: 'C' });
    for (const [method, path, sent] of [
      ['GET', '', undefined],
      ['POST', '/step', '{"step": "S"}'],
      ['DELETE', '', undefined],
    ] as const) {
      const answer = await curlI(url, method, `/resources/recorders/environment/fmt-pod${path}`, sent);
      expect(answer.split('\r\n\r\n')[1]).toBe(line);
    }
  });

  it('writes the other answers the original clients read in the same format', async () => {
    const ping = await raw(url, 'GET', '/resources/monitoring/ping');
    expect(ping.text).toBe('{"status": "OK"}\n');
    const post = await sendJson(url, 'POST', '/resources/equipments/srv/measurements', {
      environment: 'fmt-pod',
      time: nsFromNow(),
      measurements: [{ sensor: 'power', unit: 'W', value: 120, time: nsFromNow() }],
    });
    expect({ status: post.status, text: post.text, type: post.headers['content-type'] }).toEqual({
      status: 200,
      text: '{"status": "OK"}\n',
      type: 'application/json; charset=utf-8',
    });
    const none = await raw(url, 'GET', '/resources/recorders/environment/nobody');
    expect(none.text).toBe('{"message": "Can\'t find any recording session for recorder \\"nobody\\""}\n');
    const invalid = await sendJson(url, 'POST', '/resources/recorders/environment/fmt-pod', { step: 'x' });
    expect(invalid.text).toBe('{"errors": {"scenario": "\'scenario\' is a required property"}, "message": "Input payload validation failed"}\n');
    // ensure_ascii: what is not printable ASCII is escaped, surrogate pairs as two escapes.
    const accented = await sendJson(url, 'POST', '/resources/recorders/environment/caf%C3%A9', { scenario: 'énergie ⚡', step: 'a"b\\c' });
    expect(accented.text).toBe('{"environment": "caf\\u00e9", "step": "a\\"b\\\\c", "scenario": "\\u00e9nergie \\u26a1"}\n');
    expect(accented.json).toEqual({ environment: 'café', step: 'a"b\\c', scenario: 'énergie ⚡' });
  });

  it('words an empty or undecodable body as flask-restx did', async () => {
    for (const path of ['/resources/recorders/environment/p', '/resources/recorders/environment/p/step', '/resources/equipments/e/measurements']) {
      const empty = await raw(url, 'POST', path, { headers: { 'content-type': 'application/json' }, body: '' });
      expect({ path, status: empty.status, text: empty.text }).toEqual({
        path,
        status: 400,
        text: '{"message": "Failed to decode JSON object: Expecting value: line 1 column 1 (char 0)"}\n',
      });
      const broken = await raw(url, 'POST', path, { headers: { 'content-type': 'application/json' }, body: '{"step": ' });
      expect(broken.status).toBe(400);
      expect((broken.json as { message: string }).message).toMatch(/^Failed to decode JSON object: ./);
    }
  });

  it("words a ping that cannot reach the store as the original's default handler did", async () => {
    const port = await getFreePort();
    const queueDir = makeTempDir('api-shell-queue');
    const down = createApiServer({ settings: { INFLUX: { host: `http://127.0.0.1:${port}`, db: 'NRG', timeout_ms: 500, queue_dir: queueDir }, BIND: '127.0.0.1:0' }, port: 0 });
    try {
      const base = await down.listen();
      const ping = await raw(base, 'GET', '/resources/monitoring/ping');
      expect(ping.status).toBe(500);
      expect((ping.json as { message: string }).message).toMatch(/^An unhandled exception occurred\.Unable to connect influxDB: \S/);
      expect(ping.text.endsWith('"}\n')).toBe(true);
    } finally {
      await down.close();
      removeDir(queueDir);
    }
  });
});
