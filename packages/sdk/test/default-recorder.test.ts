import { getDefaultRecorder, recording, setDefaultRecorder } from '../src/index.js';

describe('getDefaultRecorder', () => {
  const saved = process.env['NODE_NAME'];

  beforeEach(() => {
    delete process.env['NODE_NAME'];
    setDefaultRecorder(undefined);
  });

  afterEach(() => {
    if (saved === undefined) delete process.env['NODE_NAME'];
    else process.env['NODE_NAME'] = saved;
    setDefaultRecorder(undefined);
    jest.restoreAllMocks();
  });

  it('emits exactly one ER_SDK_CONFIG process warning when NODE_NAME is unset and no logger is given', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await expect(recording('x', () => 1)).resolves.toBe(1);
    await expect(recording('y', () => 2)).resolves.toBe(2);
    expect(getDefaultRecorder().disabledReason).toContain('NODE_NAME');
    expect(emitWarning).toHaveBeenCalledTimes(1);
    expect(emitWarning.mock.calls[0]?.[0]).toMatch(/^energy recording disabled: no valid configuration: .*NODE_NAME: required/s);
    expect(emitWarning.mock.calls[0]?.[1]).toEqual({ code: 'ER_SDK_CONFIG' });
  });

  it('warns through the logger and emits no process warning when a logger is given', () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const warnings: unknown[] = [];
    const noop = (): void => undefined;
    const logger = { trace: noop, debug: noop, info: noop, warn: (fields: unknown) => void warnings.push(fields), error: noop, child: () => logger };
    getDefaultRecorder(logger);
    expect(warnings).toHaveLength(1);
    expect(emitWarning).not.toHaveBeenCalled();
  });
});
