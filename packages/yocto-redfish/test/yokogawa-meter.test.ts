import { MeterError } from '../src/errors.js';
import { MeterChannel } from '../src/meter-channel.js';
import { YokogawaMeter } from '../src/yokogawa-meter.js';
import type { UsbTransport } from '../src/usb-transport.js';
import { UsbtmcSession, encodeDevDepMsgOut } from '../src/internal/yokogawa/usbtmc.js';
import { parseIdn, parseIntegratorState, parseValues } from '../src/internal/yokogawa/scpi.js';
import { FakeWt310 } from './support/fake-wt310.js';
import { loadFixture, ReplayUsbDevice, sequentialOpener } from './support/replay-usb-device.js';

const signal = (): AbortSignal => AbortSignal.timeout(5000);

describe('YokogawaMeter', () => {
  it('identifies a WT310 and reads U, I, P when the device replays the synthetic exchange', async () => {
    const device = new ReplayUsbDevice(loadFixture('synthetic-yokogawa-wt310-usbtmc.json'));
    const meter = new YokogawaMeter({ openUsb: async () => device });
    const id = await meter.open(signal());
    expect(id).toEqual({ manufacturer: 'YOKOGAWA', model: 'WT310', serialNumber: 'C2QD12345', firmwareVersion: 'F1.03' });
    const r = await meter.read(signal());
    expect(r).toMatchObject({ powerWatts: 200.1, voltageVolts: 230.1, currentAmps: 0.87 });
    // Integration is in RESET, so the meter's WP counter is not trusted.
    expect(r.energyWh).toBeUndefined();
  });

  it('aborts the Bulk-IN transfer and recovers when a read times out', async () => {
    const device = new ReplayUsbDevice(loadFixture('synthetic-yokogawa-wt310-usbtmc.json'));
    const meter = new YokogawaMeter({ openUsb: async () => device });
    await meter.open(signal());
    await meter.read(signal());
    await expect(meter.read(signal())).rejects.toMatchObject({ code: 'ER_METER', retryable: true });
    const r = await meter.read(signal());
    expect(r.powerWatts).toBe(210);
    expect(r.voltageVolts).toBe(230.2);
    expect(device.remaining).toBe(0);
  });

  it('reports the meter gone and re-opens it when the device resets and comes back', async () => {
    const fixture = loadFixture('synthetic-yokogawa-wt310-usbtmc.json');
    // The first device vanishes after one reading (steps up to the first timeout), the second is fresh.
    const firstReadEnd = fixture.steps.findIndex((s) => s.op === 'read' && s.error === 'timeout') - 2;
    const devices = [new ReplayUsbDevice(fixture, firstReadEnd), new ReplayUsbDevice(fixture)];
    const opener = sequentialOpener(devices);
    const meter = new YokogawaMeter({ openUsb: opener.open });
    let t = 0;
    const channel = new MeterChannel({ meter, clock: () => t, pollIntervalMs: 1000, backoffInitialMs: 1000 });
    expect((await channel.sample()).reading?.powerWatts).toBe(200.1);
    t += 1000;
    const down = await channel.sample();
    expect(down.status).toMatchObject({ state: 'UnavailableOffline', health: 'Critical' });
    expect(down.reading).toBeNull();
    expect(devices[0]?.closed).toBe(true);
    t += 1000;
    const up = await channel.sample();
    expect(up.status.state).toBe('Enabled');
    expect(up.reading?.powerWatts).toBe(200.1);
    expect(opener.opened).toBe(2);
    await channel.stop();
  });

  it('refuses a device that is not a YOKOGAWA power meter', async () => {
    const fixture = loadFixture('synthetic-yokogawa-wt310-usbtmc.json');
    const steps = fixture.steps.slice(0, 7).map((s, i) =>
      i === 5 && s.op === 'read' ? { ...s, hex: Buffer.from(s.hex ?? '', 'hex').toString('hex').replace(Buffer.from('YOKOGAWA').toString('hex'), Buffer.from('KEITHLEY').toString('hex')) } : s,
    );
    const device = new ReplayUsbDevice({ ...fixture, steps });
    const meter = new YokogawaMeter({ openUsb: async () => device });
    const err = await meter.open(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeterError);
    expect(err).toMatchObject({ code: 'ER_METER_PROTOCOL', retryable: false });
    expect(device.closed).toBe(true);
  });
});

describe('YokogawaMeter recovery', () => {
  it('resets the USB port and closes when the device refuses INITIATE_CLEAR on open', async () => {
    const fixture = loadFixture('synthetic-yokogawa-wt310-usbtmc.json');
    const clear = fixture.steps[0];
    if (clear?.op !== 'control') throw new Error('fixture starts with INITIATE_CLEAR');
    const device = new ReplayUsbDevice({ ...fixture, steps: [{ ...clear, hex: '80', note: 'INITIATE_CLEAR -> FAILED' }, { op: 'reset' }] });
    device.goneAfterEnd = false;
    const meter = new YokogawaMeter({ openUsb: async () => device });
    await expect(meter.open(signal())).rejects.toMatchObject({ code: 'ER_METER_PROTOCOL', retryable: true });
    expect(device.remaining).toBe(0);
    expect(device.resets).toBe(1);
    expect(device.closed).toBe(true);
  });

  it('does not reset the port when the device is already gone', async () => {
    const fixture = loadFixture('synthetic-yokogawa-wt310-usbtmc.json');
    const clear = fixture.steps[0];
    if (clear?.op !== 'control') throw new Error('fixture starts with INITIATE_CLEAR');
    const device = new ReplayUsbDevice({ ...fixture, steps: [{ ...clear, hex: undefined, error: 'gone' }] });
    device.goneAfterEnd = false;
    const meter = new YokogawaMeter({ openUsb: async () => device });
    await expect(meter.open(signal())).rejects.toMatchObject({ code: 'ER_METER_NOT_FOUND' });
    expect(device.resets).toBe(0);
    expect(device.closed).toBe(true);
  });
});

describe('UsbtmcSession', () => {
  it('cycles bTag through 1..255 and never uses 0 when many messages are sent', async () => {
    const tags: number[] = [];
    const transport: UsbTransport = {
      description: 'tags',
      serialNumber: undefined,
      interfaceNumber: 0,
      inEndpoint: 0x81,
      outEndpoint: 0x02,
      maxPacketSize: 64,
      write: async (d) => void tags.push(d[1] as number),
      read: async () => new Uint8Array(0),
      controlIn: async () => new Uint8Array([1]),
      clearHalt: async () => undefined,
      reset: async () => undefined,
      close: async () => undefined,
    };
    const s = new UsbtmcSession(transport, 100);
    for (let i = 0; i < 600; i++) await s.write('*CLS');
    expect(tags.slice(253, 258)).toEqual([254, 255, 1, 2, 3]);
    expect(tags).not.toContain(0);
  });

  it('pads messages to a multiple of 4 bytes and sets EOM', () => {
    const out = encodeDevDepMsgOut(7, new TextEncoder().encode('*IDN?\n'));
    expect(Buffer.from(out).toString('hex')).toBe('0107f800060000000100000' + '02a49444e3f0a0000');
  });
});

describe('parseIdn', () => {
  it('detects the family when the meter is a WT310, WT333 or WT210', () => {
    expect(parseIdn('YOKOGAWA,WT310,C2QD12345,F1.03')?.family).toBe('wt310');
    expect(parseIdn('YOKOGAWA,WT333,X,F1.01')?.family).toBe('wt310');
    expect(parseIdn('YOKOGAWA,760401,0,F3.01')).toMatchObject({ family: 'wt210', model: 'WT210', serialNumber: undefined });
    expect(parseIdn('KEITHLEY,2000,1,1')).toBeUndefined();
  });
});

describe('parseValues', () => {
  it('drops overrange fields when the meter sends 9.91E+37 or NAN', () => {
    expect(parseValues('wt310', '9.91E+37,NAN,1.5E+02,2.0E+00')).toEqual({ power: 150, energyWh: 2 });
    expect(parseValues('wt210', '2.3E+02,1.0E+00,2.3E+02')).toEqual({ voltage: 230, current: 1, power: 230 });
  });
});

describe('YokogawaMeter open past the deadline', () => {
  it('releases the device when an open overruns the channel deadline, so the next open is not refused BUSY', async () => {
    const dev = new FakeWt310();
    dev.state.controlDelayMs = 40; // INITIATE_CLEAR + CHECK_CLEAR_STATUS: 80 ms, the deadline is 30 ms
    const meter = new YokogawaMeter({ openUsb: dev.open, timeoutMs: 10 });
    const channel = new MeterChannel({ meter, readTimeoutMs: 30, backoffInitialMs: 1, pollIntervalMs: 1 });
    expect((await channel.sample()).status.state).toBe('UnavailableOffline');
    await new Promise((r) => setTimeout(r, 150));
    // The open stopped at its next step and closed what it had opened; none of the later setup steps ran.
    expect(dev).toMatchObject({ claimed: false, opens: 1, closes: 1 });
    expect(dev.commands).toEqual([]);
    dev.state.controlDelayMs = 0;
    const up = await channel.sample();
    expect(up.status.state).toBe('Enabled');
    expect(up.reading?.powerWatts).toBe(200);
    expect(dev.busyRefusals).toBe(0);
    await channel.stop();
    expect(dev.claimed).toBe(false);
  });

  it('closes the transport when the signal is already aborted as the opener returns', async () => {
    const dev = new FakeWt310();
    const ac = new AbortController();
    const meter = new YokogawaMeter({
      openUsb: async (filter, s) => {
        const t = await dev.open(filter, s);
        ac.abort(new Error('deadline'));
        return t;
      },
    });
    await expect(meter.open(ac.signal)).rejects.toThrow(/deadline/);
    expect(dev).toMatchObject({ claimed: false, closes: 1 });
  });
});

describe('YokogawaMeter WT310 integrator', () => {
  it('asks for verbose answers and uses WP when the integrator answers START or its short form STAR', async () => {
    for (const answer of ['START', 'STAR', ':INTEG:STAT START']) {
      const dev = new FakeWt310();
      dev.state.integrator = answer;
      dev.state.values = '2.3000E+02,8.7000E-01,2.0000E+02,1.5000E+00';
      const meter = new YokogawaMeter({ openUsb: dev.open });
      await meter.open(signal());
      expect((await meter.read(signal())).energyWh).toBe(1.5);
      expect(dev.commands).toContain(':COMMunicate:VERBose ON');
      expect(dev.commands.indexOf(':COMMunicate:VERBose ON')).toBeLessThan(dev.commands.indexOf(':INTEGrate:STATe?'));
    }
  });

  it('stops using WP when a periodic check finds the integrator stopped, and uses it again once restarted', async () => {
    let t = 0;
    const dev = new FakeWt310();
    dev.state.integrator = 'START';
    dev.state.values = '2.3000E+02,8.7000E-01,2.0000E+02,1.5000E+00';
    const meter = new YokogawaMeter({ openUsb: dev.open, clock: () => t, integratorCheckMs: 10_000 });
    await meter.open(signal());
    expect((await meter.read(signal())).energyWh).toBe(1.5);
    dev.state.integrator = 'STOP';
    t = 9_999;
    expect((await meter.read(signal())).energyWh).toBe(1.5);
    t = 10_000;
    expect((await meter.read(signal())).energyWh).toBeUndefined();
    dev.state.integrator = 'STAR';
    t = 20_000;
    expect((await meter.read(signal())).energyWh).toBe(1.5);
    expect(dev.commands.filter((c) => c === ':INTEGrate:STATe?')).toHaveLength(3);
  });

  it('reads every integrator state in full and short form', () => {
    expect(parseIntegratorState('START')).toBe('start');
    expect(parseIntegratorState('STAR\n')).toBe('start');
    expect(parseIntegratorState('RES')).toBe('reset');
    expect(parseIntegratorState('RESET')).toBe('reset');
    expect(parseIntegratorState('STOP')).toBe('stop');
    expect(parseIntegratorState('TIM')).toBe('timeup');
    expect(parseIntegratorState('ERR')).toBe('error');
    expect(parseIntegratorState('ST')).toBeUndefined();
    expect(parseIntegratorState('')).toBeUndefined();
  });
});
