/** Meter families that speak different SCPI dialects. */
export type YokogawaFamily = 'wt210' | 'wt310';

/** What `*IDN?` tells us. */
export interface YokogawaIdn {
  family: YokogawaFamily;
  model: string;
  serialNumber: string | undefined;
  firmwareVersion: string | undefined;
}

/**
 * Parses a `*IDN?` answer: `YOKOGAWA,<model>,<serial>,<firmware>`. WT310/WT310E/WT310HC and the WT330 series
 * (WT332/WT333) name themselves; the WT210 answers with its model code 7604xx (yoko-tool notes the ID string
 * carries no "WT210").
 */
export function parseIdn(idn: string): YokogawaIdn | undefined {
  const fields = idn.trim().split(',').map((f) => f.trim());
  const [maker = '', model = '', serial, firmware] = fields;
  if (!/^YOKOGAWA$/i.test(maker)) return undefined;
  const opt = (v: string | undefined): string | undefined => (v === undefined || v === '' || v === '0' ? undefined : v);
  if (/^WT3(1\d|3\d)/i.test(model)) return { family: 'wt310', model: model.toUpperCase(), serialNumber: opt(serial), firmwareVersion: opt(firmware) };
  if (/^(WT210|76040[12])/i.test(model)) return { family: 'wt210', model: 'WT210', serialNumber: opt(serial), firmwareVersion: opt(firmware) };
  return undefined;
}

/** Commands sent once after opening, so that the read query returns U, I, P (and WP) in that order. */
export function setupCommands(family: YokogawaFamily): string[] {
  if (family === 'wt310') {
    // WT310/WT330 user's manual (IM WT310-17EN), NUMeric group: ASCII output, 4 items, element 1.
    // VERBose ON: text answers in full (`START`, not `STAR`), whatever the meter was left with.
    return [
      ':COMMunicate:REMote ON',
      ':COMMunicate:HEADer OFF',
      ':COMMunicate:VERBose ON',
      ':NUMeric:FORMat ASCii',
      ':NUMeric:NORMal:NUMber 4',
      ':NUMeric:NORMal:ITEM1 U,1',
      ':NUMeric:NORMal:ITEM2 I,1',
      ':NUMeric:NORMal:ITEM3 P,1',
      ':NUMeric:NORMal:ITEM4 WP,1',
    ];
  }
  // WT210 (IM 760401-17E), MEASure group: the answer lists the enabled items in a fixed order (V, A, W, ...),
  // so every other item is switched off. The meter must be in "488.2" mode, not its legacy command set.
  const off = ['VA', 'VAR', 'PF', 'DEG', 'VHZ', 'AHZ', 'WH', 'WHP', 'WHM', 'AH', 'AHP', 'AHM', 'MATH', 'VPK', 'APK', 'TIME'];
  return [':COMMunicate:REMote ON', ':COMMunicate:HEADer OFF', ':MEASure:ITEM:V ON', ':MEASure:ITEM:A ON', ':MEASure:ITEM:W ON', ...off.map((i) => `:MEASure:ITEM:${i} OFF`)];
}

/** The WT310 integrator states (`:INTEGrate:STATe?`). */
export type IntegratorState = 'reset' | 'ready' | 'start' | 'stop' | 'error' | 'timeup';

/**
 * Parses a `:INTEGrate:STATe?` answer, in its full (`START`, VERBose ON) or abbreviated (`STAR`, VERBose OFF)
 * form, with or without a header (`:INTEG:STAT START`). Undefined when it is none of the states.
 */
export function parseIntegratorState(answer: string): IntegratorState | undefined {
  const word = answer.trim().split(/\s+/).pop()?.toUpperCase() ?? '';
  const states: ReadonlyArray<readonly [IntegratorState, string, string]> = [
    ['reset', 'RES', 'RESET'],
    ['ready', 'READ', 'READY'],
    ['start', 'STAR', 'START'],
    ['stop', 'STOP', 'STOP'],
    ['error', 'ERR', 'ERROR'],
    ['timeup', 'TIM', 'TIMEUP'],
  ];
  for (const [state, short, full] of states) if (word.length >= short.length && full.startsWith(word)) return state;
  return undefined;
}

/** The query returning the numeric data. */
export function readQuery(family: YokogawaFamily): string {
  return family === 'wt310' ? ':NUMeric:NORMal:VALue?' : ':MEASure:VALue?';
}

/** Parses one numeric field; the meters send 9.91E+37 (or `NAN`/`INF`) for "no data" or overrange. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '' || /^[+-]?(NAN|INF)/i.test(t)) return undefined;
  const v = Number(t);
  if (!Number.isFinite(v) || Math.abs(v) >= 9.9e37) return undefined;
  return v;
}

/** Splits a numeric answer into U, I, P (and WP for the WT310 family). */
export function parseValues(
  family: YokogawaFamily,
  answer: string,
): { voltage?: number; current?: number; power?: number; energyWh?: number } {
  const f = answer.split(',');
  const out: { voltage?: number; current?: number; power?: number; energyWh?: number } = {};
  const set = (k: keyof typeof out, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('voltage', parseNumber(f[0]));
  set('current', parseNumber(f[1]));
  set('power', parseNumber(f[2]));
  if (family === 'wt310') set('energyWh', parseNumber(f[3]));
  return out;
}
