import { z } from 'zod';
import { nameProblem } from '@energyrecorder/core';

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

/**
 * `sensors[].unit` of the adapters whose sensors are configured by hand (Modbus, SNMP): required, as in the
 * original. Registers and OIDs carry no unit, and the API refuses a reading whose unit is empty (or otherwise not a
 * valid tag), so a sensor without one would lose every reading at run time instead of failing here.
 */
export const requiredSensorUnit = z
  .union([z.string(), z.null()])
  .optional()
  .transform((v, ctx) => {
    const problem = v === undefined || v === null || v === '' ? 'required: the unit of the readings, e.g. "W"' : nameProblem(v);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return String(v);
  });
