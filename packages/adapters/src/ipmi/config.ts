import { z } from 'zod';
import { nullAsDefault } from '@energyrecorder/core';

/** Defaults of the `ipmi` adapter's keys, exported for the docs. */
export const DEFAULT_IPMI = Object.freeze({
  port: 623,
  cipherSuite: 3 as 3 | 17,
  /** ipmitool's lanplus default, which the original relied on. */
  privilege: 'admin' as const,
  driver: 'native' as const,
  ipmiVersion: 'auto' as const,
  /** Retransmissions per request, first send included. */
  attempts: 4,
});

/**
 * Longest user name and passwords, in bytes: the BMC compares bytes, and a name or password in UTF-8 is longer
 * in bytes than in characters (`é` is two). A user name has 16 bytes in RAKP 1 and in Get Session Challenge; a
 * password (the key K_UID) 20 for RMCP+ and 16 for IPMI v1.5, the two sizes of Set User Password. Checked here,
 * so `--check-config` reports them instead of every session open.
 */
const MAX_USER_BYTES = 16;
const MAX_PASS_BYTES = 20;
const MAX_V15_PASS_BYTES = 16;

/** Why `value` is too long for a field of `max` bytes, or undefined when it fits. */
function utf8LengthProblem(value: string, max: number, what: string): string | undefined {
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > max ? `is ${bytes} bytes in UTF-8: ${what} at most ${max}` : undefined;
}

function maxUtf8Bytes(max: number, what: string) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const message = utf8LengthProblem(value, max, what);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  };
}

/** Host form of the original: `ip` or `ip:bridge`, bridge being the IPMB address of the target (`0x82`). */
const HOST_RE = /^([^:\s]+)(?::(0x[0-9a-fA-F]{1,2}|[0-9]{1,3}))?$/;

/** Schema of one `ipmi` device entry (the whole `servers[]` object). */
export const ipmiConfigSchema = z
  .looseObject({
    type: z.literal('ipmi'),
    id: z.union([z.string().min(1), z.number()]).transform(String),
    host: z
      .string()
      .regex(HOST_RE, 'expected "address" or "address:bridge" with bridge an IPMB address such as 0x82'),
    user: z.string().superRefine(maxUtf8Bytes(MAX_USER_BYTES, 'IPMI user names are')).default(''),
    // A number is a password too (`pass: 123456` in YAML): the original put it into ipmitool's command line as text.
    pass: z
      .union([z.string(), z.number().transform(String), z.null()])
      .optional()
      .transform((v) => v ?? '')
      .superRefine(maxUtf8Bytes(MAX_PASS_BYTES, 'IPMI v2.0 (RMCP+) passwords are')),
    port: z.number().int().min(1).max(65535).default(DEFAULT_IPMI.port),
    cipher_suite: z.union([z.literal(3), z.literal(17)]).default(DEFAULT_IPMI.cipherSuite),
    privilege: z.enum(['user', 'operator', 'admin']).default(DEFAULT_IPMI.privilege),
    /** Exact SDR sensor names to sum instead of the manufacturer table. */
    sensors: z.array(z.string().min(1)).min(1).optional(),
    driver: z.enum(['native', 'ipmitool']).default(DEFAULT_IPMI.driver),
    /** `auto`: IPMI v2.0 (RMCP+) when the BMC announces it, else IPMI v1.5 with MD5 (native driver only). */
    ipmi_version: z.enum(['auto', '2.0', '1.5']).default(DEFAULT_IPMI.ipmiVersion),
    /** Per-request timeout in seconds; defaults to the collector's per-request timeout, also when left empty. */
    timeout: nullAsDefault(z.number().positive().max(120).optional()),
    /** Channel the bridge target sits on (ipmitool `-b`). */
    bridge_channel: z.number().int().min(0).max(15).default(0),
  })
  .transform((c) => {
    const m = HOST_RE.exec(c.host);
    const bridge = m?.[2];
    return {
      ...c,
      address: m?.[1] ?? c.host,
      bridgeAddress: bridge === undefined ? undefined : Number(bridge),
    };
  })
  .refine((c) => c.bridgeAddress === undefined || (c.bridgeAddress > 0 && c.bridgeAddress < 0x100), {
    path: ['host'],
    message: 'bridge address must be between 0x01 and 0xff',
  })
  // With `auto`, a v1.5 BMC is only found at session open, which refuses a longer password then.
  .superRefine((c, ctx) => {
    const message = c.ipmi_version === '1.5' ? utf8LengthProblem(c.pass, MAX_V15_PASS_BYTES, 'IPMI v1.5 passwords are') : undefined;
    if (message !== undefined) ctx.addIssue({ code: 'custom', path: ['pass'], message });
  });

/** A validated `ipmi` device entry. */
export type IpmiConfig = z.output<typeof ipmiConfigSchema>;
