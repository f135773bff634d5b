// Type test, checked by `tsc -p tsconfig.json` (standard decorators) and `tsc -p tsconfig.legacy.json`
// (experimentalDecorators): what compiles here must work at run time, what the decorators refuse at run time
// must not compile. Not run by Jest.
import { createDecorators, enableRecording, EnergyRecorder, setStep } from '../../src/index.js';

const bound = createDecorators(() => EnergyRecorder.disabled('types'));

export class Uses {
  caseName = 'types';

  @enableRecording()
  async run(): Promise<number> {
    return 1;
  }

  @enableRecording('static')
  static async staticRun(a: string, b?: number): Promise<string> {
    return `${a}${b ?? ''}`;
  }

  @setStep('generic')
  async generic<T>(x: T): Promise<T> {
    return x;
  }

  @enableRecording()
  syncOne(x: number): number {
    return x;
  }

  @enableRecording()
  *items(): Generator<number> {
    yield 1;
  }

  @enableRecording()
  async *pages(): AsyncGenerator<number> {
    yield 1;
  }

  @bound.enableRecording()
  @bound.setStep('a')
  async stacked(): Promise<void> {}
}

export class Refused {
  // @ts-expect-error getters are refused at run time, so the types refuse them too
  @enableRecording()
  get value(): number {
    return 1;
  }

  // @ts-expect-error fields are refused at run time
  @setStep('x')
  field = (): number => 1;
}

export const kept: Promise<string> = new Uses().generic('x');
