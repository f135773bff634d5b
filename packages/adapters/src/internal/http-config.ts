import { z } from 'zod';
import { configVerifyCert, nullAsDefault } from '@energyrecorder/core';
import { deviceIdentityKeys, optionalText } from './config-fields.js';
import { deviceHostProblem } from './http.js';

/** Defaults shared by the HTTP adapters, exported for the docs. */
export const DEFAULT_HTTP_DEVICE = Object.freeze({
  verifyCert: true,
  /** Used when neither the device nor the collector gives a timeout. */
  timeoutS: 10,
});

const HOLDS_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)?[^/]*@/i;

/** Keys every HTTP device entry understands (the whole `servers[]` entry is validated, so unknown keys pass). */
export const httpDeviceShape = {
  ...deviceIdentityKeys,
  // `host` names the device in every error and log line, so a password written into it would leak there.
  host: z
    .string()
    .trim()
    .min(1, 'required: device address, e.g. "10.0.0.5" or "bmc1:8443"')
    .refine((h) => !HOLDS_CREDENTIALS.test(h), 'must not hold credentials (user@...): use the user and pass keys')
    // Checked at config time: a typo (`https:/bmc`, `htps://bmc`) would otherwise send the credentials to a host
    // named `https`. The value is not echoed (it may hold a secret the check above did not recognise).
    .superRefine((h, ctx) => {
      const problem = h === '' || HOLDS_CREDENTIALS.test(h) ? undefined : deviceHostProblem(h);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  user: optionalText,
  pass: optionalText,
  /** A boolean, or a CA bundle path (requests' `verify=<path>`, which the original's files may hold). */
  verify_cert: configVerifyCert(DEFAULT_HTTP_DEVICE.verifyCert),
  ca_file: z.string().min(1).optional(),
  /** Per-request timeout in seconds; left empty (`timeout:`), the default. */
  timeout: nullAsDefault(z.number().positive().optional()),
};

/** `(user, pass)` when both are non-empty, as the original's `pod_auth`; otherwise no credentials. */
export function credentialsOf(config: { user?: string | undefined; pass?: string | undefined }):
  | { user: string; pass: string }
  | undefined {
  return config.user !== undefined && config.pass !== undefined ? { user: config.user, pass: config.pass } : undefined;
}
