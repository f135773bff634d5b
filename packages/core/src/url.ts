/**
 * Splits the credentials off a URL: `http://admin:s3cr%40t@host:8080/x` gives `url` `http://host:8080/x` and
 * `user` `admin`, `pass` `s3cr@t` (percent-decoded; text that does not decode is kept as it is). A URL without
 * credentials, or text that is not a URL, comes back unchanged with neither. Node's fetch and undici refuse or
 * drop credentials in a URL, and URLs are quoted in logs: the password must travel elsewhere.
 */
export function splitUrlCredentials(url: string): { url: string; user?: string; pass?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (u.username === '' && u.password === '') return { url };
  const decode = (v: string): string => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const user = decode(u.username);
  const pass = decode(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString(), ...(user === '' ? {} : { user }), ...(pass === '' ? {} : { pass }) };
}
