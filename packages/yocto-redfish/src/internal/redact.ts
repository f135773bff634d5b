/**
 * Removes the user-info part (`user:password@`) of every URL in `text`, so an error message or a log line that
 * quotes a URL never carries a password: `http://admin:s3cret@hub:4444/x` → `http://hub:4444/x`.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1');
}
