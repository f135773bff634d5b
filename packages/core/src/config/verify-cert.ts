import { z } from 'zod';
import { configBoolean } from './yaml-booleans.js';

/**
 * A `verify_cert` key: a boolean as {@link configBoolean} reads one, or the path of a CA bundle (PEM) to verify the
 * peer against. The original handed the key to requests' `verify`, which takes either, so files written for it
 * may say `verify_cert: /etc/ssl/corp-ca.pem`. The object holding the key resolves a path with
 * {@link resolveVerifyCert}, which turns it into `verify_cert: true` plus `ca_file`.
 */
export function configVerifyCert(defaultValue: boolean): z.ZodType<boolean | string, unknown> {
  // A path has a separator or an extension (`ca.pem`): a bare word is a slip of a boolean (`ture`, `sometimes`),
  // better refused here than reported later as a CA file that cannot be read.
  const expected = 'expected true/false, or the path of a CA bundle (PEM file) to verify with';
  const path = z.string().trim().regex(/[/\\.]/, expected);
  return z
    .union([configBoolean(), path], { error: expected })
    .default(defaultValue) as unknown as z.ZodType<boolean | string, unknown>;
}

/**
 * A nullable number key whose `null` means "the default", as an empty `timeout:` did in the original (requests
 * took `None` as no timeout; here the default applies, so a request never waits for ever).
 */
export function nullAsDefault<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema);
}

/**
 * Resolves the `verify_cert` of a settings object: a path becomes `verify_cert: true` with the path in `ca_file`
 * (both files are CA bundles that replace the default trust store, as requests' `verify=<path>` did). A path
 * there and a different `ca_file` are refused: which one was meant cannot be told.
 */
export function resolveVerifyCert<T extends { verify_cert: boolean | string; ca_file?: string | undefined }>(
  settings: T,
  ctx: { addIssue(issue: { code: 'custom'; message: string; path: PropertyKey[]; input?: unknown }): void },
): Omit<T, 'verify_cert'> & { verify_cert: boolean } {
  const { verify_cert: verify, ...rest } = settings;
  if (typeof verify === 'boolean') return { ...rest, verify_cert: verify };
  if (rest.ca_file !== undefined && rest.ca_file !== verify) {
    ctx.addIssue({
      code: 'custom',
      path: ['verify_cert'],
      message: `names a CA bundle (${verify}) and ca_file names another (${rest.ca_file}): keep one of them`,
      input: verify,
    });
  }
  // `T` allows `ca_file` to be a string, and this is one.
  return { ...rest, ca_file: verify, verify_cert: true } as Omit<T, 'verify_cert'> & { verify_cert: boolean };
}
