import { AdapterError } from '@energyrecorder/core';
import { mutateJson, seededRandom, type Json } from '@energyrecorder/testkit';
import { RedfishReader } from '../../src/redfish/reader.js';
import { cloneResources, loadRedfishFixture, mapSource, redfishFixtureNames } from '../fakes/redfish-tree.js';

// Seeded random damage to every vendor fixture (a value replaced by one of the wrong type, a key or a list
// element removed, a whole resource replaced or gone): a read either gives well-formed readings or fails with an
// AdapterError describing what is wrong; never a TypeError (thrown, or caught and quoted in the message), never a
// non-finite value. FUZZ_SEED replays a run.

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);
const CASES = Number(process.env['FUZZ_CASES'] ?? 300);
// Values a Redfish payload can carry where it should not (no NaN: JSON.parse never yields one).
const ODD: readonly Json[] = [null, true, 0, -1, 1e308, -1e308, '', 'n/a', '42', [], [null], {}, { '@odata.id': 42 }, { '@odata.id': '/nowhere' }, '/redfish/v1/Chassis'];
const T = 1_700_000_000_000_000_000;
const signal = new AbortController().signal;

describe('RedfishReader on damaged vendor payloads (seeded fuzz)', () => {
  it.each(redfishFixtureNames())('gives readings or an AdapterError when %s is damaged at random', async (name) => {
    const rand = seededRandom(SEED ^ name.length);
    const base = loadRedfishFixture(name).resources;
    let failures = 0;
    for (let i = 0; i < CASES; i++) {
      const res = cloneResources(base);
      const uris = [...res.keys()];
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
        const uri = uris[Math.floor(rand() * uris.length)] as string;
        // A resource gone (10 %), else one change inside it (a value replaced, a key or element removed, an
        // unknown key added, or the whole resource replaced).
        if (rand() < 0.1) res.delete(uri);
        else res.set(uri, mutateJson(rand, res.get(uri) as Json, ODD).value);
      }
      const reader = new RedfishReader(mapSource(res), {
        power: true,
        temperature: true,
        basePath: '',
        makeError: (message, code, cause) => new AdapterError(message, { adapterType: 'redfish', target: 'fixture', code, cause }),
      });
      try {
        const readings = await reader.read(signal, T);
        for (const r of readings) {
          expect(typeof r.sensor).toBe('string');
          expect(r.sensor).not.toBe('');
          expect(typeof r.unit).toBe('string');
          if (!Number.isFinite(r.value)) throw new Error(`case ${i} (FUZZ_SEED=${SEED}): non-finite ${r.sensor} = ${r.value}`);
        }
      } catch (err) {
        if (!(err instanceof AdapterError)) throw new Error(`case ${i} (FUZZ_SEED=${SEED}): ${String(err)}`, { cause: err });
        expect(err.message).not.toBe('');
        // A damaged payload is described (which resource, which field), not a JavaScript error leaking through.
        if (/Cannot read|is not a function|is not iterable|TypeError|RangeError/.test(err.message)) {
          throw new Error(`case ${i} (FUZZ_SEED=${SEED}): a JavaScript error leaked into the message: ${err.message}`);
        }
        failures++;
      }
    }
    // The damage must actually break some reads, or the test proves nothing.
    expect(failures).toBeGreaterThan(0);
  });
});
