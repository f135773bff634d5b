import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsbTransferError, type UsbFailure } from '../../src/errors.js';
import type { ControlSetup, UsbTransport } from '../../src/usb-transport.js';

/** One recorded exchange step; see test/fixtures/README.md. */
export type ReplayStep =
  | { op: 'write'; hex: string; note?: string }
  | { op: 'read'; hex?: string; error?: UsbFailure; note?: string }
  | { op: 'control'; requestType: number; request: number; value: number; index: number; length: number; hex?: string; error?: UsbFailure; note?: string }
  | { op: 'clearHalt'; endpoint: 'in' | 'out'; note?: string }
  | { op: 'reset'; note?: string };

/** A fixture file: endpoint layout plus the steps. */
export interface ReplayFixture {
  description: string;
  interfaceNumber: number;
  inEndpoint: number;
  outEndpoint: number;
  maxPacketSize: number;
  steps: ReplayStep[];
}

export function loadFixture(name: string): ReplayFixture {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8')) as ReplayFixture;
}

/**
 * A fake USB device that replays a recorded exchange byte for byte: every OUT transfer and control request must
 * be exactly the next expected step, every IN transfer returns the next recorded bytes (or fails as recorded).
 * A mismatch fails with the step number and note, so a framing regression points at the offending byte.
 */
export class ReplayUsbDevice implements UsbTransport {
  readonly description = 'replay';
  readonly serialNumber: string | undefined = 'REPLAY-1';
  readonly interfaceNumber: number;
  readonly inEndpoint: number;
  readonly outEndpoint: number;
  readonly maxPacketSize: number;
  private pos = 0;
  closed = false;
  /** How many times the driver asked for a port reset. */
  resets = 0;
  /** Set once the steps run out: further transfers behave as an unplugged device. */
  goneAfterEnd = true;

  constructor(private readonly fixture: ReplayFixture, private readonly upTo = fixture.steps.length) {
    this.interfaceNumber = fixture.interfaceNumber;
    this.inEndpoint = fixture.inEndpoint;
    this.outEndpoint = fixture.outEndpoint;
    this.maxPacketSize = fixture.maxPacketSize;
  }

  /** Steps not yet replayed. */
  get remaining(): number {
    return this.upTo - this.pos;
  }

  private next(op: ReplayStep['op']): ReplayStep {
    if (this.pos >= this.upTo) {
      if (this.goneAfterEnd) throw new UsbTransferError('gone', `replay finished, device gone (${op})`);
      throw new Error(`unexpected ${op} after the end of the replay`);
    }
    const step = this.fixture.steps[this.pos] as ReplayStep;
    if (step.op !== op) throw new Error(`step ${this.pos} (${step.note ?? ''}): expected ${step.op}, got ${op}`);
    this.pos++;
    return step;
  }

  async write(data: Uint8Array): Promise<void> {
    const at = this.pos;
    const step = this.next('write') as Extract<ReplayStep, { op: 'write' }>;
    const got = Buffer.from(data).toString('hex');
    if (got !== step.hex) throw new Error(`step ${at} (${step.note ?? ''}): wrote\n  ${got}\nexpected\n  ${step.hex}`);
  }

  async read(maxLength: number): Promise<Uint8Array> {
    const at = this.pos;
    const step = this.next('read') as Extract<ReplayStep, { op: 'read' }>;
    if (step.error !== undefined) throw new UsbTransferError(step.error, `replayed ${step.error}`);
    const bytes = Buffer.from(step.hex ?? '', 'hex');
    if (bytes.length > maxLength) throw new Error(`step ${at}: read of ${maxLength} bytes cannot hold ${bytes.length}`);
    return new Uint8Array(bytes);
  }

  async controlIn(setup: ControlSetup, length: number): Promise<Uint8Array> {
    const at = this.pos;
    const step = this.next('control') as Extract<ReplayStep, { op: 'control' }>;
    const want = { requestType: step.requestType, request: step.request, value: step.value, index: step.index, length: step.length };
    const got = { ...setup, length };
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      throw new Error(`step ${at} (${step.note ?? ''}): control ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
    if (step.error !== undefined) throw new UsbTransferError(step.error, `replayed ${step.error}`);
    return new Uint8Array(Buffer.from(step.hex ?? '', 'hex'));
  }

  async clearHalt(endpoint: 'in' | 'out'): Promise<void> {
    const at = this.pos;
    const step = this.next('clearHalt') as Extract<ReplayStep, { op: 'clearHalt' }>;
    if (step.endpoint !== endpoint) throw new Error(`step ${at}: clearHalt(${endpoint}), expected ${step.endpoint}`);
  }

  async reset(): Promise<void> {
    this.resets++;
    this.next('reset');
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** An opener handing out `devices` one per open, as a meter that is unplugged and plugged back is seen. */
export function sequentialOpener(devices: readonly UsbTransport[]): { open: () => Promise<UsbTransport>; readonly opened: number } {
  let opened = 0;
  return {
    open: async () => {
      const d = devices[opened++];
      if (d === undefined) throw new UsbTransferError('gone', 'no more replay devices');
      return d;
    },
    get opened() {
      return opened;
    },
  };
}
