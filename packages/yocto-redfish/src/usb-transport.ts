/** The setup stage of a control transfer (USB 2.0 §9.3). */
export interface ControlSetup {
  /** bmRequestType, e.g. 0xA1 (class, interface, device-to-host). */
  requestType: number;
  /** bRequest. */
  request: number;
  /** wValue. */
  value: number;
  /** wIndex. */
  index: number;
}

/**
 * The few USB operations the meter drivers need, over one claimed interface with one IN and one OUT endpoint
 * (bulk for USBTMC, interrupt for HID). Drivers only see this interface, so tests replace the hardware with
 * a fake device object that replays recorded byte exchanges. Failures are `UsbTransferError`s.
 */
export interface UsbTransport {
  /** `vid:pid serial`, for logs. */
  readonly description: string;
  /** Serial number string descriptor, when the device has one. */
  readonly serialNumber: string | undefined;
  /** bInterfaceNumber of the claimed interface (USBTMC control requests address it). */
  readonly interfaceNumber: number;
  /** Address of the IN endpoint (with the 0x80 bit). */
  readonly inEndpoint: number;
  /** Address of the OUT endpoint. */
  readonly outEndpoint: number;
  /** wMaxPacketSize of the IN endpoint: a shorter packet ends a transfer. */
  readonly maxPacketSize: number;
  /** One OUT transfer. */
  write(data: Uint8Array, timeoutMs: number): Promise<void>;
  /** One IN transfer of at most `maxLength` bytes; may return fewer (a short packet ends it). */
  read(maxLength: number, timeoutMs: number): Promise<Uint8Array>;
  /** A device-to-host control transfer. */
  controlIn(setup: ControlSetup, length: number, timeoutMs: number): Promise<Uint8Array>;
  /** CLEAR_FEATURE(ENDPOINT_HALT) on one of the two endpoints. */
  clearHalt(endpoint: 'in' | 'out'): Promise<void>;
  /** Resets the USB port; the transport is unusable afterwards and must be re-opened. */
  reset(): Promise<void>;
  /** Releases the interface and closes the device. Never throws. */
  close(): Promise<void>;
}

/** Which device to open. */
export interface UsbDeviceFilter {
  vendorId: number;
  /** Any product of the vendor when absent. */
  productIds?: readonly number[];
  /** The first matching device when absent. */
  serialNumber?: string;
  /** bInterfaceClass of the interface to claim (0xFE USBTMC, 0x03 HID). */
  interfaceClass: number;
  /** Endpoint kind to use. */
  transferType: 'bulk' | 'interrupt';
}

/** Opens a device: the real one is `openNodeUsb`, tests pass a function returning a fake. */
export type UsbOpener = (filter: UsbDeviceFilter, signal: AbortSignal) => Promise<UsbTransport>;
