/** A short, secret-free description of an error for logs and status. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Whether the `count`-th occurrence of a repeated problem deserves a warning: the first three, then only powers
 * of two, so a device or API down for a day does not flood the log.
 */
export function worthWarning(count: number): boolean {
  return count <= 3 || (count & (count - 1)) === 0;
}
