import { z } from 'zod';
import { RESERVED_TAG_KEYS } from '../names.js';

/**
 * A `topology` map: location tags added to every reading (the original accepted any keys). Keys and values follow
 * `name` (a tag-name schema); numbers and booleans are kept as their text; keys every reading already has as a tag
 * are refused with `reservedMessage`. The collector's settings and the API's request bodies each pass their own
 * name schema and wording (the API keeps flask-restx's), so the rules stay one.
 */
export function topologyMapSchema(name: z.ZodType<string, string>, opts: { reservedMessage: string; typeError?: string }) {
  const value = z.union([z.string(), z.number().transform(String), z.boolean().transform(String)]).pipe(name);
  return z
    .record(name, value, opts.typeError === undefined ? undefined : { error: opts.typeError })
    .superRefine((t, ctx) => {
      for (const k of Object.keys(t)) {
        if (RESERVED_TAG_KEYS.has(k)) ctx.addIssue({ code: 'custom', path: [k], message: opts.reservedMessage });
      }
    });
}
