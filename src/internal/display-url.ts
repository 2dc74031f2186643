/**
 * URLs as they may be shown anywhere (stderr, the start banner, logs, error messages, the
 * inspector): without credentials. The user name and password are removed, the value of every
 * query parameter becomes `***` (its name is kept), and the fragment is dropped. Text that is
 * not a URL (a mistyped setting) is redacted by pattern: userinfo, and the values of
 * secret-looking `name=value` pairs. A URL with nothing to hide is returned as given. Never throws.
 */

const SECRET_NAME = /token|key|secret|sig|pass|pwd|auth|cred|session|jwt|bearer/i;
const MASK = '***';

export function displayUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactText(url);
  }
  // Nothing to hide: shown as the user spelt it (an error quotes the value given).
  if (u.username === '' && u.password === '' && u.hash === '' && u.search === '') return url;
  u.username = '';
  u.password = '';
  u.hash = '';
  if (u.search !== '') {
    // Any query value may be a credential (`?k=`, `?code=`): names are shown, values never.
    const names: string[] = [];
    for (const name of u.searchParams.keys()) names.push(`${encodeURIComponent(name)}=${MASK}`);
    u.search = `?${names.join('&')}`;
  }
  return u.href;
}

/** Best effort on text that is not a URL: userinfo before an `@` and secret-looking `name=value` pairs. */
function redactText(text: string): string {
  return text
    .replace(/(\/\/)[^/?#@\s]*@/g, '$1')
    .replace(/([?&;\s]|^)([^=&?;\s]*)=([^&#\s]*)/g, (all, sep: string, name: string) =>
      SECRET_NAME.test(name) ? `${sep}${name}=${MASK}` : all,
    )
    .replace(/#.*$/, '');
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi;

/**
 * Text (an error message, a log line) with every URL in it shown as {@link displayUrl} shows
 * it: errors from fetch and other clients quote the URL they were given, credentials included.
 */
export function withoutUrlCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, (u) => displayUrl(u)) : text;
}
