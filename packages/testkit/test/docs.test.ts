import { z } from 'zod';
import { configKeyPaths, isKeyDocumented, undocumentedKeys } from '../src/index.js';

const schema = z.object({
  A: z.preprocess((v) => v, z.object({ host: z.string(), user: z.string().optional(), pass: z.string().optional() }).optional()),
  LIST: z
    .array(
      z.object({
        id: z.string(),
        inner: z.array(z.object({ deep: z.number() })).default([]),
        tags: z.record(z.string(), z.string()).optional(),
      }),
    )
    .default([]),
  ONE_OF: z.discriminatedUnion('kind', [z.object({ kind: z.literal('a'), x: z.number() }), z.object({ kind: z.literal('b'), y: z.number() })]),
  SECTION: z.object({ level: z.string().default('info') }).prefault({}),
});

describe('configKeyPaths', () => {
  it('lists nested keys, list elements and the keys of every union option when the schema has wrappers', () => {
    expect(configKeyPaths(schema)).toEqual([
      'A',
      'A.host',
      'A.user',
      'A.pass',
      'LIST',
      'LIST[].id',
      'LIST[].inner',
      'LIST[].inner[].deep',
      'LIST[].tags',
      'ONE_OF',
      'ONE_OF.kind',
      'ONE_OF.x',
      'ONE_OF.y',
      'SECTION',
      'SECTION.level',
    ]);
  });

  it('does not go below a stop path when another document covers it', () => {
    expect(configKeyPaths(schema, ['LIST[].inner'])).not.toContain('LIST[].inner[].deep');
  });
});

describe('isKeyDocumented', () => {
  it('accepts a whole path, a list path and a bare key on a line naming its parent', () => {
    expect(isKeyDocumented('| `A.host` | URL |', 'A.host')).toBe(true);
    expect(isKeyDocumented('| `LIST[]` | list |', 'LIST')).toBe(true);
    expect(isKeyDocumented('| `A.user` / `pass` | string |', 'A.pass')).toBe(true);
  });

  it('refuses a key that is only named elsewhere or only as part of a longer name', () => {
    expect(isKeyDocumented('| `B.host` | URL |', 'A.host')).toBe(false);
    expect(isKeyDocumented('| `A.hostname` | URL |', 'A.host')).toBe(false);
    expect(isKeyDocumented('`A.user` here\n`pass` on another line', 'A.pass')).toBe(false);
  });
});

describe('undocumentedKeys', () => {
  it('names the keys a README misses when some are documented (a section counts as documented by its keys)', () => {
    const readme = ['| `A` | | ', '| `A.host` |', '| `A.user` / `pass` |', '| `LIST[]` |', '| `LIST[].id` |', '| `SECTION.level` |'].join('\n');
    expect(undocumentedKeys(readme, schema, { stopAt: ['LIST[].inner'], ignore: ['ONE_OF.kind'] })).toEqual([
      'LIST[].inner',
      'LIST[].tags',
      'ONE_OF',
      'ONE_OF.x',
      'ONE_OF.y',
    ]);
  });
});
