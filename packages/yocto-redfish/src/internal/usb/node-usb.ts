import { UsbTransferError } from '../../errors.js';
import type { ControlSetup, UsbDeviceFilter, UsbTransport } from '../../usb-transport.js';

type UsbModule = typeof import('usb');
type Device = import('usb').Device;
type Interface = import('usb').Interface;
type InEndpoint = import('usb').InEndpoint;
type OutEndpoint = import('usb').OutEndpoint;

let usbModule: Promise<UsbModule> | undefined;

/** Loads the native `usb` binding on first use only, so the simulated and HTTP drivers never need it. */
function loadUsb(): Promise<UsbModule> {
  usbModule ??= import('usb');
  return usbModule;
}

function toError(usb: UsbModule, err: unknown, what: string): UsbTransferError {
  const errno = typeof err === 'object' && err !== null && 'errno' in err ? (err as { errno: unknown }).errno : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (errno === usb.usb.LIBUSB_TRANSFER_TIMED_OUT || errno === usb.usb.LIBUSB_ERROR_TIMEOUT) {
    return new UsbTransferError('timeout', `${what}: timed out`, { cause: err });
  }
  if (errno === usb.usb.LIBUSB_TRANSFER_STALL || errno === usb.usb.LIBUSB_ERROR_PIPE) {
    return new UsbTransferError('stall', `${what}: endpoint stalled`, { cause: err });
  }
  if (errno === usb.usb.LIBUSB_ERROR_NO_DEVICE || errno === usb.usb.LIBUSB_TRANSFER_NO_DEVICE) {
    return new UsbTransferError('gone', `${what}: device disconnected`, { cause: err });
  }
  return new UsbTransferError('io', `${what}: ${message}`, { cause: err });
}

function stringDescriptor(device: Device, index: number): Promise<string | undefined> {
  if (index === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => device.getStringDescriptor(index, (err, value) => resolve(err ? undefined : value)));
}

/** Opens a real device with the `usb` package (libusb). */
export async function openNodeUsb(filter: UsbDeviceFilter, signal: AbortSignal): Promise<UsbTransport> {
  const usb = await loadUsb();
  signal.throwIfAborted();
  const candidates = usb.getDeviceList().filter(
    (d) =>
      d.deviceDescriptor.idVendor === filter.vendorId &&
      (filter.productIds === undefined || filter.productIds.includes(d.deviceDescriptor.idProduct)),
  );
  const wantType = filter.transferType === 'bulk' ? usb.usb.LIBUSB_TRANSFER_TYPE_BULK : usb.usb.LIBUSB_TRANSFER_TYPE_INTERRUPT;
  for (const device of candidates) {
    signal.throwIfAborted();
    try {
      device.open();
    } catch {
      continue; // busy or no permission: try the next one
    }
    const serial = await stringDescriptor(device, device.deviceDescriptor.iSerialNumber);
    if (filter.serialNumber !== undefined && serial !== filter.serialNumber) {
      device.close();
      continue;
    }
    const iface = (device.interfaces ?? []).find((i) => i.descriptor.bInterfaceClass === filter.interfaceClass);
    if (iface === undefined) {
      device.close();
      continue;
    }
    try {
      // Linux binds usbtmc/usbhid to these devices; libusb must take the interface over.
      if (iface.isKernelDriverActive()) iface.detachKernelDriver();
      iface.claim();
    } catch (err) {
      device.close();
      throw toError(usb, err, 'claim interface');
    }
    const inEp = iface.endpoints.find((e) => e.direction === 'in' && e.transferType === wantType) as InEndpoint | undefined;
    const outEp = iface.endpoints.find((e) => e.direction === 'out' && e.transferType === wantType) as OutEndpoint | undefined;
    if (inEp === undefined || outEp === undefined) {
      device.close();
      continue;
    }
    return new NodeUsbTransport(usb, device, iface, inEp, outEp, serial);
  }
  throw new UsbTransferError(
    'gone',
    `no USB device ${hex4(filter.vendorId)}${filter.serialNumber === undefined ? '' : ` with serial ${filter.serialNumber}`}`,
  );
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

class NodeUsbTransport implements UsbTransport {
  readonly description: string;
  readonly interfaceNumber: number;
  readonly inEndpoint: number;
  readonly outEndpoint: number;
  readonly maxPacketSize: number;

  constructor(
    private readonly usb: UsbModule,
    private readonly device: Device,
    private readonly iface: Interface,
    private readonly inEp: InEndpoint,
    private readonly outEp: OutEndpoint,
    readonly serialNumber: string | undefined,
  ) {
    const d = device.deviceDescriptor;
    this.description = `${hex4(d.idVendor)}:${hex4(d.idProduct)}${serialNumber === undefined ? '' : ` ${serialNumber}`}`;
    this.interfaceNumber = iface.interfaceNumber;
    this.inEndpoint = inEp.address;
    this.outEndpoint = outEp.address;
    this.maxPacketSize = inEp.descriptor.wMaxPacketSize;
  }

  write(data: Uint8Array, timeoutMs: number): Promise<void> {
    this.outEp.timeout = timeoutMs;
    return new Promise((resolve, reject) =>
      this.outEp.transfer(Buffer.from(data), (err) => (err ? reject(toError(this.usb, err, 'bulk out')) : resolve())),
    );
  }

  read(maxLength: number, timeoutMs: number): Promise<Uint8Array> {
    this.inEp.timeout = timeoutMs;
    return new Promise((resolve, reject) =>
      this.inEp.transfer(maxLength, (err, data) =>
        err ? reject(toError(this.usb, err, 'bulk in')) : resolve(new Uint8Array(data ?? Buffer.alloc(0))),
      ),
    );
  }

  controlIn(setup: ControlSetup, length: number, timeoutMs: number): Promise<Uint8Array> {
    this.device.timeout = timeoutMs;
    return new Promise((resolve, reject) => {
      this.device.controlTransfer(setup.requestType, setup.request, setup.value, setup.index, length, (err, buf) => {
        if (err) reject(toError(this.usb, err, `control 0x${setup.request.toString(16)}`));
        else resolve(Buffer.isBuffer(buf) ? new Uint8Array(buf) : new Uint8Array(0));
      });
    });
  }

  clearHalt(endpoint: 'in' | 'out'): Promise<void> {
    const ep = endpoint === 'in' ? this.inEp : this.outEp;
    return new Promise((resolve, reject) => ep.clearHalt((err) => (err ? reject(toError(this.usb, err, 'clear halt')) : resolve())));
  }

  reset(): Promise<void> {
    return new Promise((resolve, reject) => this.device.reset((err) => (err ? reject(toError(this.usb, err, 'reset')) : resolve())));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.iface.release(true, () => resolve()));
    try {
      this.device.close();
    } catch {
      // already closed or unplugged
    }
  }
}
