import { z } from 'zod';

// The original read its settings with PyYAML (YAML 1.1), where plain `yes`/`no`/`on`/`off` are booleans; the
// `yaml` package reads YAML 1.2, where they are strings. Only keys that take a boolean read them as one: a country
// code `NO` in a topology, or a password `yes`, stays the text it is.
const TRUE_TEXT = /^(?:[Yy]es|YES|[Oo]n|ON|[Tt]rue|TRUE)$/;
const FALSE_TEXT = /^(?:[Nn]o|NO|[Oo]ff|OFF|[Ff]alse|FALSE)$/;

/**
 * A boolean settings key: `true`/`false`, the YAML 1.1 words `yes`/`no`/`on`/`off` the original took, or the
 * integers `1`/`0` (the original tested such keys for Python truthiness, so `active: 0` turned a device off).
 * Other numbers are refused: `active: 2` is more likely a slip than a wish.
 */
export function configBoolean(): z.ZodType<boolean, unknown> {
  return z.preprocess((v) => {
    if (v === 0 || v === 1) return v === 1;
    if (typeof v !== 'string') return v;
    if (TRUE_TEXT.test(v)) return true;
    if (FALSE_TEXT.test(v)) return false;
    return v;
  }, z.boolean()) as unknown as z.ZodType<boolean, unknown>;
}
