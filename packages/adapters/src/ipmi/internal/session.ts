import { createSocket, type Socket } from 'node:dgram';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type AdapterError, type Logger } from '@energyrecorder/core';
import { asIpmiError, IpmiErrorCode, ipmiError } from '../errors.js';
import {
  type CipherSuite,
  deriveKeys,
  type RakpInputs,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionIntegrityKey,
} from './cipher-suite.js';
import {
  Cmd,
  COMPLETION_CODE_TEXT,
  decodeChannelAuthCapabilities,
  encodeGetChannelAuthCapabilities,
  NetFn,
} from './commands.js';
import {
  decodeBridgedResponse,
  decodeIpmiResponse,
  decodePacket,
  encodeBridgedRequest,
  encodeIpmiRequest,
  encodeV15Packet,
  v15AuthCode,
  encodeV20Packet,
  type IpmiResponse,
  PacketError,
  PayloadType,
  type SessionSecurity,
  type V20Packet,
} from './packet.js';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  RMCP_STATUS_TEXT,
} from './rakp.js';
import { errorMessage } from '../../internal/device-support.js';

/** What an {@link IpmiSession} needs. */
export interface IpmiSessionOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  suite: CipherSuite;
  /** Requested privilege level (1–4). */
  privilege: number;
  /** Time to wait for one answer before retransmitting, ms. */
  attemptTimeoutMs: number;
  /** Transmissions per request, first one included. */
  attempts: number;
  /** `auto` uses IPMI v2.0 when the BMC announces it and falls back to IPMI v1.5 with MD5. */
  version?: 'auto' | '2.0' | '1.5';
  logger: Logger;
  /** Clock in epoch ms for {@link IpmiSession.lastAnswerMs}; default `Date.now`. */
  now?: () => number;
}

/** Where a request goes: the BMC itself, or a controller behind it reached with Send Message. */
export interface RequestTarget {
  address: number;
  channel: number;
}

/** A request failure that means the session is gone (timeouts, integrity failures, session errors). */
function isSessionFatal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === IpmiErrorCode.TIMEOUT || code === IpmiErrorCode.PROTOCOL;
}

/**
 * One RMCP+ session with a BMC over UDP. Requests are sent one at a time (BMCs queue few), retransmitted with a
 * fresh session sequence number until `attempts` run out. Not reopened by itself: the caller decides (see
 * {@link IpmiSession.isSessionFatal}).
 */
export class IpmiSession {
  static readonly isSessionFatal = isSessionFatal;
  private socket: Socket | undefined;
  private security: SessionSecurity | undefined;
  private consoleSessionId = 0;
  private bmcSessionId = 0;
  private outSeq = 0;
  /** IPMI v1.5 session state (no RMCP+): MD5 per-message AuthCode, no confidentiality. */
  private v15: { sessionId: number; password: Buffer } | undefined;
  private inHighest = 0;
  private readonly inSeen = new Set<number>();
  private rqSeq = 0;
  private messageTag = 0;
  private waiter: ((p: V20Packet) => boolean) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly target: string;
  private lastAnswer = 0;

  constructor(private readonly opts: IpmiSessionOptions) {
    this.target = `${opts.host}:${opts.port}`;
  }

  /** True once RAKP 4 (or Activate Session for v1.5) succeeded and until {@link close}. */
  get active(): boolean {
    return this.security !== undefined || this.v15 !== undefined;
  }

  /**
   * When the BMC last answered in this session (any accepted answer, session set-up included), epoch ms of the
   * session's clock. BMCs close a session idle for their inactivity timeout (about 60 s, IPMI v2.0 §6.12.15).
   */
  get lastAnswerMs(): number {
    return this.lastAnswer;
  }

  /** `2.0` or `1.5` once open. */
  get version(): '2.0' | '1.5' | undefined {
    return this.security !== undefined ? '2.0' : this.v15 !== undefined ? '1.5' : undefined;
  }

  /** Opens the UDP socket and runs Get Channel Auth Capabilities, Open Session, RAKP 1–4, Set Session Privilege. */
  async open(signal: AbortSignal): Promise<void> {
    try {
      await this.openSteps(signal);
    } catch (err) {
      throw asIpmiError(err, this.target);
    }
  }

  private async openSteps(signal: AbortSignal): Promise<void> {
    await this.bind();
    const caps = decodeChannelAuthCapabilities(
      await this.sendV15(
        NetFn.APP,
        Cmd.GET_CHANNEL_AUTH_CAPABILITIES,
        encodeGetChannelAuthCapabilities(this.opts.privilege),
        signal,
      ),
    );
    const version = this.opts.version ?? 'auto';
    if (version === '1.5' || (version === 'auto' && !caps.ipmi20)) {
      await this.openV15(caps.md5, signal);
      return;
    }
    if (!caps.ipmi20) {
      throw ipmiError(this.target, IpmiErrorCode.AUTH, 'the BMC does not announce IPMI v2.0 (RMCP+) on this channel', {
        retryable: false,
      });
    }
    const suite = this.opts.suite;
    this.consoleSessionId = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
    const tag = this.nextTag();
    const open = decodeOpenSessionResponse(
      await this.exchange(
        PayloadType.OPEN_SESSION_REQUEST,
        encodeOpenSessionRequest(tag, this.consoleSessionId, this.opts.privilege, suite),
        PayloadType.OPEN_SESSION_RESPONSE,
        tag,
        signal,
      ),
    );
    if (open.status !== 0) throw this.rmcpError('Open Session', open.status);
    if (
      open.authAlgorithm !== suite.authAlgorithm ||
      open.integrityAlgorithm !== suite.integrityAlgorithm ||
      open.confidentialityAlgorithm !== suite.confidentialityAlgorithm
    ) {
      throw ipmiError(this.target, IpmiErrorCode.AUTH, `the BMC did not accept cipher suite ${suite.id}`, {
        retryable: false,
      });
    }
    this.bmcSessionId = open.bmcSessionId;
    const userName = Buffer.from(this.opts.user, 'utf8');
    const kuid = Buffer.from(this.opts.password, 'utf8');
    if (userName.length > 16) {
      throw ipmiError(this.target, IpmiErrorCode.AUTH, 'user names longer than 16 bytes are not allowed', {
        retryable: false,
      });
    }
    const consoleRandom = randomBytes(16);
    // Name-only lookup (bit 4): the BMC finds the user by name, whatever its privilege (§13.20).
    const role = 0x10 | (this.opts.privilege & 0x0f);
    const tag1 = this.nextTag();
    const rakp2 = decodeRakp2(
      await this.exchange(
        PayloadType.RAKP1,
        encodeRakp1(tag1, this.bmcSessionId, consoleRandom, role, userName),
        PayloadType.RAKP2,
        tag1,
        signal,
      ),
    );
    if (rakp2.status !== 0) throw this.rmcpError('RAKP 2', rakp2.status);
    const inputs: RakpInputs = {
      consoleSessionId: this.consoleSessionId,
      bmcSessionId: this.bmcSessionId,
      consoleRandom,
      bmcRandom: rakp2.bmcRandom,
      bmcGuid: rakp2.bmcGuid,
      role,
      userName,
    };
    const expected = rakp2AuthCode(suite, kuid, inputs);
    if (rakp2.authCode.length !== expected.length || !timingSafeEqual(rakp2.authCode, expected)) {
      // Tell the BMC too, so it frees the half-open session (status 0Fh: invalid integrity check value).
      const refusal = encodeRakp3(this.nextTag(), 0x0f, this.bmcSessionId, Buffer.alloc(0));
      this.sendRaw(
        encodeV20Packet({ payloadType: PayloadType.RAKP3, sessionId: 0, sequence: 0, payload: refusal }, undefined),
      );
      const why = `the BMC refused the password of user "${this.opts.user}"`;
      throw ipmiError(this.target, IpmiErrorCode.BAD_PASSWORD, why, { retryable: false });
    }
    const tag3 = this.nextTag();
    const rakp4 = decodeRakp4(
      await this.exchange(
        PayloadType.RAKP3,
        encodeRakp3(tag3, 0, this.bmcSessionId, rakp3AuthCode(suite, kuid, inputs)),
        PayloadType.RAKP4,
        tag3,
        signal,
      ),
    );
    if (rakp4.status !== 0) throw this.rmcpError('RAKP 4', rakp4.status);
    const sik = sessionIntegrityKey(suite, kuid, inputs);
    const icv = rakp4Icv(suite, sik, inputs);
    if (rakp4.icv.length < icv.length || !timingSafeEqual(rakp4.icv.subarray(0, icv.length), icv)) {
      throw ipmiError(this.target, IpmiErrorCode.PROTOCOL, 'RAKP 4 integrity check value does not match', {
        retryable: true,
      });
    }
    const keys = deriveKeys(suite, sik);
    this.security = { suite, k1: keys.k1, aesKey: keys.aesKey };
    this.outSeq = 0;
    this.inHighest = 0;
    this.inSeen.clear();
    const priv = await this.request(NetFn.APP, Cmd.SET_SESSION_PRIVILEGE, Buffer.from([this.opts.privilege]), signal);
    this.check(priv, 'Set Session Privilege Level', false);
    this.opts.logger.debug({ suite: suite.id, privilege: this.opts.privilege }, 'ipmi session opened');
  }

  /**
   * IPMI v1.5 session (§22.15, §22.16): Get Session Challenge, then Activate Session signed with MD5, then every
   * message signed with MD5 (no confidentiality: v1.5 has none).
   */
  private async openV15(md5: boolean, signal: AbortSignal): Promise<void> {
    if (!md5) {
      const why = 'the BMC offers neither IPMI v2.0 nor IPMI v1.5 MD5 authentication';
      throw ipmiError(this.target, IpmiErrorCode.AUTH, why, { retryable: false });
    }
    const password = Buffer.alloc(16);
    const passwordBytes = Buffer.from(this.opts.password, 'utf8');
    if (passwordBytes.length > 16) {
      const why = 'IPMI v1.5 passwords are limited to 16 bytes';
      throw ipmiError(this.target, IpmiErrorCode.AUTH, why, { retryable: false });
    }
    passwordBytes.copy(password);
    const name = Buffer.alloc(16);
    Buffer.from(this.opts.user, 'utf8').copy(name);
    // Auth type 02h = MD5 (§22.16); the user name is sent zero-padded to 16 bytes.
    const challengeRequest = Buffer.concat([Buffer.from([0x02]), name]);
    const challenge = await this.sendV15Raw(NetFn.APP, Cmd.GET_SESSION_CHALLENGE, challengeRequest, signal);
    if (challenge.completionCode === 0x81 || challenge.completionCode === 0x82) {
      const why = `Get Session Challenge: the BMC does not know user "${this.opts.user}"`;
      throw ipmiError(this.target, IpmiErrorCode.UNKNOWN_USER, why, { retryable: false });
    }
    this.check(challenge, 'Get Session Challenge', false);
    if (challenge.data.length < 20) throw new Error('Get Session Challenge answer is too short');
    const tempId = challenge.data.readUInt32LE(0);
    const outbound = Buffer.alloc(4);
    outbound.writeUInt32LE((randomBytes(4).readUInt32LE(0) | 1) >>> 0, 0);
    const activateData = Buffer.concat([
      Buffer.from([0x02, this.opts.privilege]),
      challenge.data.subarray(4, 20),
      outbound,
    ]);
    let activated: IpmiResponse;
    try {
      activated = await this.sendV15Raw(NetFn.APP, Cmd.ACTIVATE_SESSION, activateData, signal, {
        password,
        sessionId: tempId,
        sequence: 0,
      });
    } catch (err) {
      // BMCs drop an Activate Session whose AuthCode does not verify, so silence here means a wrong password.
      if ((err as { code?: unknown }).code !== IpmiErrorCode.TIMEOUT) throw err;
      const why = `no answer to Activate Session: the BMC most likely refused the password of user "${this.opts.user}"`;
      throw ipmiError(this.target, IpmiErrorCode.BAD_PASSWORD, why, { retryable: false, cause: err });
    }
    this.check(activated, 'Activate Session', false);
    if (activated.data.length < 10) throw new Error('Activate Session answer is too short');
    this.v15 = { sessionId: activated.data.readUInt32LE(1), password };
    // The BMC's "initial inbound sequence number" is where our outbound numbering starts (§22.17).
    this.outSeq = (activated.data.readUInt32LE(5) - 1) >>> 0;
    const priv = await this.request(NetFn.APP, Cmd.SET_SESSION_PRIVILEGE, Buffer.from([this.opts.privilege]), signal);
    this.check(priv, 'Set Session Privilege Level', false);
    this.opts.logger.debug({ version: '1.5', privilege: this.opts.privilege }, 'ipmi session opened');
  }

  /**
   * Sends one IPMI request in the session (optionally bridged) and returns the answer, completion code
   * included; the caller checks it.
   */
  request(
    netFn: number,
    cmd: number,
    data: Uint8Array,
    signal: AbortSignal,
    options: { target?: RequestTarget; lun?: number } = {},
  ): Promise<IpmiResponse> {
    const run = async (): Promise<IpmiResponse> => {
      const security = this.security;
      const v15 = this.v15;
      if (security === undefined && v15 === undefined) {
        throw ipmiError(this.target, IpmiErrorCode.PROTOCOL, 'no IPMI session is open');
      }
      const rqSeq = this.nextRqSeq();
      const bridged = options.target;
      const message =
        bridged === undefined
          ? encodeIpmiRequest({ netFn, cmd, data, rqSeq, rsLun: options.lun ?? 0 })
          : encodeIpmiRequest(
              encodeBridgedRequest(
                { netFn, cmd, data, targetAddress: bridged.address, targetLun: options.lun ?? 0 },
                bridged.channel,
                rqSeq,
              ),
            );
      const answer = await this.transact(
        () =>
          v15 !== undefined
            ? encodeV15Packet(message, {
                password: v15.password,
                sessionId: v15.sessionId,
                sequence: this.nextOutSeq(),
              })
            : encodeV20Packet(
                {
                  payloadType: PayloadType.IPMI,
                  sessionId: this.bmcSessionId,
                  sequence: this.nextOutSeq(),
                  payload: message,
                },
                security,
              ),
        (p) => {
          if (v15 !== undefined) {
            if (p.sessionId !== v15.sessionId || !this.v15AnswerValid(p, v15.password)) return undefined;
          } else if (p.payloadType !== PayloadType.IPMI || p.sessionId !== this.consoleSessionId || !p.authenticated) {
            return undefined;
          }
          if (!this.acceptInboundSequence(p.sequence)) return undefined;
          const rsp = decodeIpmiResponse(p.payload);
          if (bridged === undefined) {
            return rsp.rqSeq === rqSeq && rsp.cmd === cmd && rsp.netFn === (netFn | 1) ? rsp : undefined;
          }
          // Bridged: the Send Message answer may carry the target's answer, or come first and empty.
          if (rsp.cmd === Cmd.SEND_MESSAGE && rsp.netFn === 0x07) {
            if (rsp.rqSeq !== rqSeq) return undefined;
            if (rsp.completionCode !== 0) return rsp;
            const inner = decodeBridgedResponse(rsp);
            // An empty answer only acknowledges the request: the target's answer follows as its own message.
            if (inner === undefined) return undefined;
            return inner.rqSeq === rqSeq && inner.cmd === cmd && inner.netFn === (netFn | 1) ? inner : undefined;
          }
          // The target's answer as its own message, usually after an empty Send Message answer: with tracking the
          // BMC gives it back the rqSeq of our embedded request, which tells it apart from a late answer to an
          // earlier request of the same command.
          return rsp.rqSeq === rqSeq && rsp.cmd === cmd && rsp.netFn === (netFn | 1)
            ? rsp
            : undefined;
        },
        signal,
      );
      return answer;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * An IPMI v1.5 answer is accepted when it carries a valid MD5 AuthCode, or none at all (BMCs may answer
   * unauthenticated when per-message authentication is off).
   */
  private v15AnswerValid(p: V20Packet, password: Buffer): boolean {
    if (p.v15AuthCode === undefined) return true;
    return v15AuthCode(password, p.sessionId, p.payload, p.sequence).equals(p.v15AuthCode);
  }

  /** Throws a COMPLETION error when `rsp` has a non-zero completion code. */
  check(rsp: IpmiResponse, what: string, retryable = true): IpmiResponse {
    if (rsp.completionCode === 0) return rsp;
    const text = COMPLETION_CODE_TEXT[rsp.completionCode] ?? 'unknown completion code';
    throw ipmiError(
      this.target,
      IpmiErrorCode.COMPLETION,
      `${what} failed: completion code 0x${rsp.completionCode.toString(16).padStart(2, '0')} (${text})`,
      { retryable },
    );
  }

  /** Sends Close Session (best effort, one short try) and releases the socket. Never throws. */
  async close(): Promise<void> {
    if (this.active) {
      const id = Buffer.alloc(4);
      id.writeUInt32LE((this.v15?.sessionId ?? this.bmcSessionId) >>> 0, 0);
      const signal = AbortSignal.timeout(Math.min(1000, this.opts.attemptTimeoutMs));
      try {
        await this.request(NetFn.APP, Cmd.CLOSE_SESSION, id, signal);
      } catch (err) {
        this.opts.logger.debug({ err: errorMessage(err) }, 'ipmi close session got no answer');
      }
    }
    this.security = undefined;
    this.v15 = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /**
   * Replay protection (§6.12.13): an authenticated packet is accepted once, and only when its sequence number is
   * within 16 of the highest seen so far.
   */
  private acceptInboundSequence(seq: number): boolean {
    if (seq === 0 || this.inSeen.has(seq)) return false;
    if (this.inHighest !== 0 && seq + 16 <= this.inHighest) return false;
    this.inSeen.add(seq);
    if (this.inSeen.size > 32) {
      const oldest = this.inSeen.values().next().value;
      if (oldest !== undefined) this.inSeen.delete(oldest);
    }
    if (seq > this.inHighest) this.inHighest = seq;
    return true;
  }

  private nextTag(): number {
    this.messageTag = (this.messageTag + 1) & 0xff;
    return this.messageTag;
  }

  private nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    return this.rqSeq;
  }

  private nextOutSeq(): number {
    // Zero is reserved for pre-session packets; wrap past it (§6.12.13).
    this.outSeq = (this.outSeq + 1) >>> 0;
    if (this.outSeq === 0) this.outSeq = 1;
    return this.outSeq;
  }

  private rmcpError(step: string, status: number): AdapterError {
    const text = RMCP_STATUS_TEXT[status] ?? `status 0x${status.toString(16)}`;
    if (status === 0x0d) {
      const why = `${step}: the BMC does not know user "${this.opts.user}" (${text})`;
      return ipmiError(this.target, IpmiErrorCode.UNKNOWN_USER, why, { retryable: false });
    }
    if (status === 0x0f) {
      const why = `${step}: the BMC refused the password of user "${this.opts.user}" (${text})`;
      return ipmiError(this.target, IpmiErrorCode.BAD_PASSWORD, why, { retryable: false });
    }
    return ipmiError(this.target, IpmiErrorCode.AUTH, `${step} refused: ${text}`, {
      retryable: status === 0x01 || status === 0x0b,
    });
  }

  private async bind(): Promise<void> {
    if (this.socket !== undefined) return;
    const socket = createSocket('udp4');
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'ipmi socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(this.opts.port, this.opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
  }

  private onMessage(msg: Buffer): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    let packet: V20Packet;
    try {
      packet = decodePacket(msg, this.security);
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err) }, 'ipmi packet dropped');
      return;
    }
    waiter(packet);
  }

  private sendRaw(packet: Buffer): void {
    this.socket?.send(packet);
  }

  private async sendV15(netFn: number, cmd: number, data: Uint8Array, signal: AbortSignal): Promise<Buffer> {
    return this.check(await this.sendV15Raw(netFn, cmd, data, signal), 'Get Channel Authentication Capabilities', false)
      .data;
  }

  /** An IPMI v1.5 request outside a session, or signed with MD5 for Activate Session. */
  private sendV15Raw(
    netFn: number,
    cmd: number,
    data: Uint8Array,
    signal: AbortSignal,
    md5?: { password: Buffer; sessionId: number; sequence: number },
  ): Promise<IpmiResponse> {
    const rqSeq = this.nextRqSeq();
    const message = encodeIpmiRequest({ netFn, cmd, data, rqSeq });
    return this.transact(
      () => encodeV15Packet(message, md5),
      (p) => {
        if (p.payloadType !== PayloadType.IPMI) return undefined;
        const rsp = decodeIpmiResponse(p.payload);
        return rsp.rqSeq === rqSeq && rsp.cmd === cmd ? rsp : undefined;
      },
      signal,
    );
  }

  private exchange(
    type: number,
    payload: Buffer,
    answerType: number,
    tag: number,
    signal: AbortSignal,
  ): Promise<Buffer> {
    return this.transact(
      () => encodeV20Packet({ payloadType: type, sessionId: 0, sequence: 0, payload }, undefined),
      (p) => (p.payloadType === answerType && p.payload[0] === tag ? p.payload : undefined),
      signal,
    );
  }

  /**
   * Sends `build()` and waits for a packet `match` accepts, retransmitting (a new packet each time, so a new
   * session sequence number) every attempt timeout. A matcher that throws fails the request.
   */
  private transact<T>(build: () => Buffer, match: (p: V20Packet) => T | undefined, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.waiter = undefined;
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        const options = { cause: signal.reason, retryable: false };
        reject(ipmiError(this.target, IpmiErrorCode.ABORTED, 'request aborted', options));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = (p) => {
        try {
          const value = match(p);
          if (value === undefined) return false;
          this.lastAnswer = (this.opts.now ?? Date.now)();
          finish();
          resolve(value);
        } catch (err) {
          finish();
          reject(
            (err as { code?: unknown }).code !== undefined
              ? err
              : ipmiError(this.target, IpmiErrorCode.PROTOCOL, errorMessage(err), { cause: err }),
          );
        }
        return true;
      };
      const send = (): void => {
        if (attempt >= this.opts.attempts) {
          finish();
          reject(
            ipmiError(
              this.target,
              IpmiErrorCode.TIMEOUT,
              `no answer after ${this.opts.attempts} tries of ${this.opts.attemptTimeoutMs} ms`,
            ),
          );
          return;
        }
        attempt++;
        try {
          this.sendRaw(build());
        } catch (err) {
          finish();
          const why = `cannot send: ${errorMessage(err)}`;
          reject(ipmiError(this.target, IpmiErrorCode.PROTOCOL, why, { cause: err }));
          return;
        }
        timer = setTimeout(send, this.opts.attemptTimeoutMs);
      };
      send();
    });
  }
}

export { PacketError };
