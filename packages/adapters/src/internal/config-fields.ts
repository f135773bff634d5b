import { z } from 'zod';

/**
 * An optional text key. The original YAML often carries `pass: ""` or `user: null` for devices without them, and
 * numbers where text is meant (`pass: 1234`): all of these read as text or as absent.
 */
export const optionalText = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : String(v)));

/** `id` and `type` of a `servers[]` entry, which every adapter's schema accepts first (numeric ids become text). */
export const deviceIdentityKeys = {
  id: z.union([z.string(), z.number()]).transform(String).optional(),
  type: z.string().optional(),
};
