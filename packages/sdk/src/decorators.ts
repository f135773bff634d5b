import { getDefaultRecorder } from './default-recorder.js';
import type { EnergyRecorder } from './recorder.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * A method decorator usable in both TypeScript modes: standard (TC39, `(value, context)`) and legacy
 * (`experimentalDecorators`, `(target, key, descriptor)`). The convention is detected at run time.
 */
export interface DualMethodDecorator {
  // The method's own type is kept whole (`Fn`), so generic methods (`async get<T>(x: T): Promise<T>`) fit.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the standard context's own constraint
  <This, Fn extends (this: This, ...args: any[]) => any>(value: Fn, context: ClassMethodDecoratorContext<This, Fn>): Fn;
  // Legacy decorators: only method descriptors (a function value); getters, setters and fields are refused.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any method signature
  <T extends (...args: any[]) => any>(target: object, propertyKey: string | symbol, descriptor: TypedPropertyDescriptor<T>): TypedPropertyDescriptor<T>;
}

/** Options of {@link enableRecording}. */
export interface EnableRecordingOptions {
  /** Scenario name. Default: `this.caseName`, else `this.case_name`, else `ClassName.method`. */
  scenario?: string;
  /** Recorder to use. Default: {@link getDefaultRecorder}, resolved at call time. */
  recorder?: EnergyRecorder | (() => EnergyRecorder);
}

function isStandardContext(value: unknown): value is { kind: string; name: string | symbol } {
  return typeof value === 'object' && value !== null && 'kind' in value && 'name' in value;
}

type MethodKind = 'sync' | 'async' | 'generator' | 'async-generator';

/** What calling `fn` gives: a value, a promise, or a generator whose body runs only when it is iterated. */
function kindOf(fn: Method): MethodKind {
  switch (Object.prototype.toString.call(fn)) {
    case '[object AsyncFunction]':
      return 'async';
    case '[object GeneratorFunction]':
      return 'generator';
    case '[object AsyncGeneratorFunction]':
      return 'async-generator';
    default:
      return 'sync';
  }
}

type AnyGenerator = Generator<unknown, unknown, unknown>;
type AnyAsyncGenerator = AsyncGenerator<unknown, unknown, unknown>;

function methodDecorator(label: string, wrap: (original: Method, name: string | symbol) => Method): DualMethodDecorator {
  const decorator = (target: unknown, keyOrContext: unknown, descriptor?: PropertyDescriptor): unknown => {
    if (isStandardContext(keyOrContext)) {
      if (keyOrContext.kind !== 'method' || typeof target !== 'function') {
        throw new TypeError(`${label} decorates methods only, not a ${keyOrContext.kind}`);
      }
      return wrap(target as Method, keyOrContext.name);
    }
    if (descriptor === undefined || typeof descriptor.value !== 'function' || (typeof keyOrContext !== 'string' && typeof keyOrContext !== 'symbol')) {
      throw new TypeError(`${label} decorates methods only`);
    }
    descriptor.value = wrap(descriptor.value as Method, keyOrContext);
    return descriptor;
  };
  return decorator as DualMethodDecorator;
}

function pickRecorder(option: EnableRecordingOptions['recorder']): EnergyRecorder {
  if (option === undefined) return getDefaultRecorder();
  return typeof option === 'function' ? option() : option;
}

/** The scenario of an undecorated-name call: the instance's `caseName`/`case_name`, else `ClassName.method`. */
export function defaultScenarioName(self: unknown, method: string | symbol): string {
  if ((typeof self === 'object' && self !== null) || typeof self === 'function') {
    const holder = self as { caseName?: unknown; case_name?: unknown };
    if (typeof holder.caseName === 'string' && holder.caseName !== '') return holder.caseName;
    if (typeof holder.case_name === 'string' && holder.case_name !== '') return holder.case_name;
  }
  let className = 'anonymous';
  if (typeof self === 'function' && self.name !== '') className = self.name;
  else if (typeof self === 'object' && self !== null) {
    const ctor: unknown = (self as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function' && ctor.name !== '') className = ctor.name;
  }
  return `${className}.${String(method)}`;
}

/**
 * `@enableRecording(scenario?)`: records each call of the method as a scenario. Before it runs, the
 * environment's current session is saved and `scenario` starts at step `running`; afterwards, on success and on
 * failure, the saved scenario and step are restored (or recording stops). `this`, every argument, the return
 * value and the thrown error pass through unchanged; async methods are awaited, sync methods stay sync (their
 * markers are then sent in the background, in order). For generator and async generator methods the recording
 * spans the iteration: it starts at the first `next()` and ends when the generator completes, is closed or
 * throws. Recording failures are logged, never thrown.
 */
export function enableRecording(scenarioOrOptions?: string | EnableRecordingOptions): DualMethodDecorator {
  const options: EnableRecordingOptions =
    typeof scenarioOrOptions === 'string' ? { scenario: scenarioOrOptions } : (scenarioOrOptions ?? {});
  return methodDecorator('@enableRecording', (original, name) => {
    // Each wrapper is of the same kind as the method (async, generator...), so stacked decorators see the kind.
    switch (kindOf(original)) {
      case 'async':
        return async function recorded(this: unknown, ...args: unknown[]): Promise<unknown> {
          const scenario = options.scenario ?? defaultScenarioName(this, name);
          return pickRecorder(options.recorder).recording(scenario, () => original.apply(this, args));
        };
      case 'generator':
        return function* recorded(this: unknown, ...args: unknown[]): AnyGenerator {
          const scenario = options.scenario ?? defaultScenarioName(this, name);
          return yield* pickRecorder(options.recorder).recordingGenerator(scenario, () => original.apply(this, args) as AnyGenerator);
        };
      case 'async-generator':
        return async function* recorded(this: unknown, ...args: unknown[]): AnyAsyncGenerator {
          const scenario = options.scenario ?? defaultScenarioName(this, name);
          return yield* pickRecorder(options.recorder).recordingAsyncGenerator(scenario, () => original.apply(this, args) as AnyAsyncGenerator);
        };
      case 'sync':
        break;
    }
    return function recorded(this: unknown, ...args: unknown[]): unknown {
      const scenario = options.scenario ?? defaultScenarioName(this, name);
      return pickRecorder(options.recorder).recordingSync(scenario, () => original.apply(this, args));
    };
  });
}

/**
 * `@setStep(name)`: sets the step before the method runs (the decorator the OPNFV docs described but never
 * shipped). Async methods run once the step is sent; sync methods run at once with the step queued; generator
 * methods set it when their iteration starts (async generators once it is sent).
 */
export function setStep(step: string, options: Pick<EnableRecordingOptions, 'recorder'> = {}): DualMethodDecorator {
  return methodDecorator('@setStep', (original) => {
    switch (kindOf(original)) {
      case 'async':
        return async function stepped(this: unknown, ...args: unknown[]): Promise<unknown> {
          return pickRecorder(options.recorder).step(step, () => original.apply(this, args));
        };
      // Generators: the step is set when the iteration starts, not when the generator object is created.
      case 'generator':
        return function* stepped(this: unknown, ...args: unknown[]): AnyGenerator {
          void pickRecorder(options.recorder).setStep(step);
          return yield* original.apply(this, args) as AnyGenerator;
        };
      case 'async-generator':
        return async function* stepped(this: unknown, ...args: unknown[]): AnyAsyncGenerator {
          await pickRecorder(options.recorder).step(step, () => undefined);
          return yield* original.apply(this, args) as AnyAsyncGenerator;
        };
      case 'sync':
        break;
    }
    return function stepped(this: unknown, ...args: unknown[]): unknown {
      void pickRecorder(options.recorder).setStep(step);
      return original.apply(this, args);
    };
  });
}

/** Both decorators bound to one recorder, for code that does not use the default one. */
export function createDecorators(recorder: EnergyRecorder | (() => EnergyRecorder)): {
  enableRecording: (scenario?: string) => DualMethodDecorator;
  setStep: (step: string) => DualMethodDecorator;
} {
  return {
    enableRecording: (scenario?: string) => enableRecording(scenario === undefined ? { recorder } : { scenario, recorder }),
    setStep: (step: string) => setStep(step, { recorder }),
  };
}
