import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import {
  getFreePort,
  getFreeUdpPort,
  ManagedProcess,
  PeerExitedError,
  PeerNotReadyError,
  peerAvailable,
  startInfluxd,
  startIpmiSim,
  startMosquitto,
  startSnmpd,
  waitFor,
} from '../src/index.js';

// Readiness timeouts far above the jest timeout: a start-up that waited for them instead of failing on the
// peer's exit would time the test out rather than pass.
const NEVER_MS = 600_000;
const TEST_MS = 60_000;

const haveInflux = peerAvailable('influxd', ['influxd']);
const haveMosquitto = peerAvailable('mosquitto', ['mosquitto']);
const haveIpmiSim = peerAvailable('ipmi_sim', ['ipmi_sim', 'sdrcomp']);
const haveSnmpd = peerAvailable('snmpd', ['snmpd']);

/** Listens on `port` so a peer cannot; hangs up on whoever connects, so a readiness probe gets no answer. */
function holdTcpPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((socket) => socket.destroy());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

function closeServer(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

function holdUdpPort(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(port, '127.0.0.1', () => resolve(sock));
  });
}

/** The rejection of `p`, which must reject. */
async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('ManagedProcess.waitReady', () => {
  const script = 'for (let i = 1; i <= 30; i++) console.error("line " + i); process.exit(7);';

  it('fails with the exit code and the last 20 output lines when the program exits before it is ready', async () => {
    const proc = new ManagedProcess(process.execPath, ['-e', script]);
    const err = await rejectionOf(proc.waitReady(() => false, 'a port that never opens', { timeoutMs: NEVER_MS }));

    expect(err).toBeInstanceOf(PeerExitedError);
    const exited = err as PeerExitedError;
    expect(exited.code).toBe('PEER_EXITED');
    expect(exited.exit).toEqual({ code: 7, signal: null });
    expect(exited.message).toContain(`${process.execPath} exited with code 7 before it was ready (waiting for a port that never opens)`);
    expect(exited.message).toContain('line 30');
    expect(exited.message).toContain('line 11');
    expect(exited.message).not.toContain('line 10\n');
  }, TEST_MS);

  it('names the signal when the program is killed before it is ready', async () => {
    const proc = new ManagedProcess(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1000);']);
    const waiting = rejectionOf(proc.waitReady(() => false, 'nothing', { timeoutMs: NEVER_MS }));
    await waitFor(() => proc.logs.includes('up'), 'the child to print');
    await proc.kill();
    const err = await waiting;

    expect(err).toBeInstanceOf(PeerExitedError);
    expect((err as PeerExitedError).exit.signal).toBe('SIGKILL');
    expect((err as PeerExitedError).message).toMatch(/was killed by SIGKILL[^]*\nup$/);
  }, TEST_MS);

  it('reports a program that cannot be started', async () => {
    const proc = new ManagedProcess('/nonexistent/er-peer', []);
    const err = await rejectionOf(proc.waitReady(() => false, 'nothing', { timeoutMs: NEVER_MS }));

    expect(err).toBeInstanceOf(PeerExitedError);
    expect((err as PeerExitedError).message).toContain('/nonexistent/er-peer could not be started: spawn /nonexistent/er-peer ENOENT');
  }, TEST_MS);

  it('fails when the program has exited by the time its readiness check passes', async () => {
    // The check passes once the child has exited: what a check answered by another program on the peer's port
    // does. A grandchild holding the output pipe keeps the exit bookkeeping (and so the exit signal) pending for
    // a while, so the check's success, not the signal, ends the wait.
    const script = 'require("child_process").spawn("sleep", ["2"], { stdio: "inherit" }).unref(); console.log("bye"); process.exit(5);';
    const proc = new ManagedProcess(process.execPath, ['-e', script]);
    const err = await rejectionOf(proc.waitReady(() => proc.exitStatus !== undefined, 'an answer', { timeoutMs: NEVER_MS, intervalMs: 5 }));

    expect(err).toBeInstanceOf(PeerExitedError);
    const exited = err as PeerExitedError;
    expect(exited.exit).toEqual({ code: 5, signal: null });
    expect(exited.message).toContain(`${process.execPath} exited with code 5 right after its readiness check passed (waiting for an answer)`);
    expect(exited.message).toContain('bye');
  }, TEST_MS);

  it('times out with the output so far when the program runs but never gets ready', async () => {
    const proc = new ManagedProcess(process.execPath, ['-e', 'console.log("still booting"); setInterval(() => {}, 1000);']);
    try {
      const err = await rejectionOf(
        proc.waitReady(() => proc.logs.includes('never printed'), 'the ready line', { timeoutMs: 1500, intervalMs: 50 }),
      );

      expect(err).toBeInstanceOf(PeerNotReadyError);
      expect((err as PeerNotReadyError).message).toContain('is running but not ready: timed out after 1500 ms waiting for the ready line');
      expect((err as PeerNotReadyError).message).toContain('still booting');
      expect(proc.alive).toBe(true);
    } finally {
      await proc.stop();
    }
  }, TEST_MS);
});

(haveInflux ? describe : describe.skip)('startInfluxd readiness', () => {
  it('fails fast naming influxd, its exit code and its bind error when the HTTP port is taken', async () => {
    const port = await getFreePort();
    const holder = await holdTcpPort(port);
    try {
      const err = await rejectionOf(startInfluxd({ port, readyTimeoutMs: NEVER_MS }));

      expect(err).toBeInstanceOf(PeerExitedError);
      const exited = err as PeerExitedError;
      expect(exited.binary).toMatch(/influxd$/);
      expect(exited.exit.code).not.toBe(0);
      expect(exited.exit.code).not.toBeNull();
      expect(exited.message).toMatch(/influxd exited with code \d+ before it was ready/);
      expect(exited.message).toContain(`127.0.0.1:${port}`);
      expect(exited.message).toContain('address already in use');
    } finally {
      await closeServer(holder);
    }
  }, TEST_MS);
});

(haveMosquitto ? describe : describe.skip)('startMosquitto readiness', () => {
  it('fails fast naming mosquitto, its exit code and the bad line when the config has an unknown option', async () => {
    const err = await rejectionOf(startMosquitto({ extraConfig: ['bogus_option 1'], readyTimeoutMs: NEVER_MS }));

    expect(err).toBeInstanceOf(PeerExitedError);
    const exited = err as PeerExitedError;
    expect(exited.binary).toMatch(/mosquitto$/);
    expect(exited.exit).toEqual({ code: 3, signal: null });
    expect(exited.message).toMatch(/mosquitto exited with code 3 before it was ready/);
    expect(exited.message).toContain('Unknown configuration variable "bogus_option"');
  }, TEST_MS);

  it('fails fast when its port is taken', async () => {
    const port = await getFreePort();
    const holder = await holdTcpPort(port);
    try {
      const err = await rejectionOf(startMosquitto({ port, readyTimeoutMs: NEVER_MS }));

      expect(err).toBeInstanceOf(PeerExitedError);
      expect((err as PeerExitedError).message).toContain('Address already in use');
    } finally {
      await closeServer(holder);
    }
  }, TEST_MS);
});

(haveIpmiSim ? describe : describe.skip)('startIpmiSim readiness', () => {
  it('fails fast naming ipmi_sim, its exit code and its bind error when the LAN port is taken', async () => {
    const port = await getFreeUdpPort();
    const holder = await holdUdpPort(port);
    try {
      const err = await rejectionOf(startIpmiSim({ user: 'admin', pass: 'secret', powerWatts: 100, port, readyTimeoutMs: NEVER_MS }));

      expect(err).toBeInstanceOf(PeerExitedError);
      const exited = err as PeerExitedError;
      expect(exited.binary).toBe('ipmi_sim');
      expect(exited.exit).toEqual({ code: 1, signal: null });
      expect(exited.message).toContain('Unable to bind to LAN port: Address already in use');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  }, TEST_MS);
});

(haveSnmpd ? describe : describe.skip)('startSnmpd readiness', () => {
  it('fails fast with the end of its log file when its UDP port is taken', async () => {
    const port = await getFreeUdpPort();
    const holder = await holdUdpPort(port);
    try {
      const err = await rejectionOf(startSnmpd({ port, startTimeoutMs: NEVER_MS }));

      expect(err).toBeInstanceOf(PeerExitedError);
      const exited = err as PeerExitedError;
      expect(exited.binary).toMatch(/snmpd$/);
      expect(exited.exit).toEqual({ code: 1, signal: null });
      expect(exited.message).toMatch(/snmpd\.log ---\n/);
      expect(exited.message).toContain(`Error opening specified endpoint "udp:127.0.0.1:${port}"`);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  }, TEST_MS);
});

/** True when the influxd at `url` answers `/ping`. */
async function influxAnswers(url: string): Promise<boolean> {
  const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) });
  return res.status === 204;
}

// Another peer of the same kind on the port answers every readiness probe a bare protocol check would send,
// while the one just started is about to fail on its bind: start must not resolve (and hand the test the other
// peer).
describe('starting a peer on a port another peer of the same kind holds', () => {
  (haveInflux ? it : it.skip)(
    'influxd: rejects with its bind error, and the first influxd keeps running',
    async () => {
      const first = await startInfluxd();
      try {
        const err = await rejectionOf(startInfluxd({ port: first.port, readyTimeoutMs: NEVER_MS }));

        expect(err).toBeInstanceOf(PeerExitedError);
        expect((err as PeerExitedError).message).toContain('address already in use');
        expect(await influxAnswers(first.url)).toBe(true);
      } finally {
        await first.stop();
      }
    },
    TEST_MS,
  );

  (haveInflux ? it : it.skip)(
    'influxd with auth: rejects too',
    async () => {
      const auth = { user: 'admin', pass: 's3cret' };
      const first = await startInfluxd({ auth });
      try {
        const err = await rejectionOf(startInfluxd({ port: first.port, auth, readyTimeoutMs: NEVER_MS }));

        expect(err).toBeInstanceOf(PeerExitedError);
        expect((err as PeerExitedError).message).toContain('address already in use');
      } finally {
        await first.stop();
      }
    },
    TEST_MS,
  );

  (haveMosquitto ? it : it.skip)(
    'mosquitto (anonymous): rejects with its bind error',
    async () => {
      const first = await startMosquitto();
      try {
        const err = await rejectionOf(startMosquitto({ port: first.port, readyTimeoutMs: NEVER_MS }));

        expect(err).toBeInstanceOf(PeerExitedError);
        expect((err as PeerExitedError).message).toContain('Address already in use');
      } finally {
        await first.stop();
      }
    },
    TEST_MS,
  );

  (haveMosquitto && peerAvailable('mosquitto_passwd', ['mosquitto_passwd']) ? it : it.skip)(
    'mosquitto with the same users: rejects with its bind error',
    async () => {
      const users = [{ user: 'u', pass: 'p' }];
      const first = await startMosquitto({ users });
      try {
        const err = await rejectionOf(startMosquitto({ users, port: first.port, readyTimeoutMs: NEVER_MS }));

        expect(err).toBeInstanceOf(PeerExitedError);
        expect((err as PeerExitedError).message).toContain('Address already in use');
      } finally {
        await first.stop();
      }
    },
    TEST_MS,
  );

  (haveSnmpd ? it : it.skip)(
    'snmpd (same community): rejects with its bind error',
    async () => {
      const first = await startSnmpd();
      try {
        const err = await rejectionOf(startSnmpd({ port: first.port, startTimeoutMs: NEVER_MS }));

        expect(err).toBeInstanceOf(PeerExitedError);
        expect((err as PeerExitedError).message).toContain(`Error opening specified endpoint "udp:127.0.0.1:${first.port}"`);
      } finally {
        await first.stop();
      }
    },
    TEST_MS,
  );

  (haveIpmiSim ? it : it.skip)(
    'ipmi_sim (which would share the port, SO_REUSEADDR): rejects naming the port',
    async () => {
      const first = await startIpmiSim({ user: 'admin', pass: 'secret', powerWatts: 100 });
      try {
        const err = await rejectionOf(startIpmiSim({ user: 'admin', pass: 'secret', powerWatts: 100, port: first.port, readyTimeoutMs: NEVER_MS }));

        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toContain(`udp 127.0.0.1:${first.port} is already in use`);
        // No second simulator was left sharing the port: the first one, restarted, gets it to itself again.
        await first.restart();
      } finally {
        await first.stop();
      }
    },
    TEST_MS,
  );
});
