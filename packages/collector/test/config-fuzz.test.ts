import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createAdapterRegistry } from '@energyrecorder/core';
import { builtinAdapters } from '@energyrecorder/adapters';
import { mutateJson, seededRandom, type Json } from '@energyrecorder/testkit';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { parseCollectorConfigText } from '../src/internal/config.js';

// Seeded random damage to the annotated example settings (every adapter type and key): the loader either accepts
// the file or throws one ConfigError listing each problem as `path: message`, where the path leads to the damaged
// key (or its parent, for a missing or extra key); never another exception. FUZZ_SEED replays a run.

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);
const CASES = Number(process.env['FUZZ_CASES'] ?? 400);
const EXAMPLE = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'config', 'collector-settings.yaml'), 'utf8');
const registry = createAdapterRegistry([...builtinAdapters]);

describe('collector settings loader on damaged files (seeded fuzz)', () => {
  it('loads the example unchanged', () => {
    expect(parseCollectorConfigText(EXAMPLE, registry).environments.length).toBeGreaterThan(0);
  });

  it('accepts a damaged file or names each problem by its path, and throws nothing else', () => {
    const rand = seededRandom(SEED);
    const base = parseYaml(EXAMPLE) as Json;
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const { value, path } = mutateJson(rand, base);
      const text = toYaml(value);
      try {
        parseCollectorConfigText(text, registry, 'fuzz.yaml');
      } catch (err) {
        const where = `case ${i} (FUZZ_SEED=${SEED}) at ${path.join('.')}`;
        if (!(err instanceof ConfigError)) throw new Error(`${where}: ${String(err)}`, { cause: err });
        expect(err.issues.length).toBeGreaterThan(0);
        for (const issue of err.issues) {
          if (issue.message === '' || issue.message === 'Invalid input' || /Cannot read|is not a function|TypeError/.test(issue.message)) {
            throw new Error(`${where}: unclear problem ${JSON.stringify(issue)}`);
          }
        }
        // A damaged key is named: some issue's path is the changed path, or a prefix of it (the list or section
        // holding it, for a removed or extra key), or lies below it (a replaced section's own keys), or is a
        // sibling (removing `preset` makes `sensors` required).
        const dotted = path.join('.');
        const parent = path.slice(0, -1).join('.');
        const named = err.issues.some((iss) => {
          const p = String(iss.path);
          return dotted.startsWith(p) || p.startsWith(dotted) || (parent !== '' && p.startsWith(`${parent}.`));
        });
        if (!named) throw new Error(`${where}: no issue names it: ${err.message}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(CASES / 10);
  });
});
