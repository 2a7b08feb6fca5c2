/**
 * What `--help` and `list` may print of a value in effect. They print each option's value and its
 * source, which is how a wrong environment is found; but their output is pasted into issues and
 * chat, so a secret is not printed: the value of an option whose name says it holds one (the
 * runner's --auth-secret; a worker's apiKey, smtpPassword, accessToken, clientSecret, privateKey,
 * credentials), the value of such a key inside an object option (`{"password": …}`), and the password
 * of a URL (`postgres://app:pw@db/app`) in any value. Where the value came from is still said. Errors
 * that quote a value (a flag's, a variable's, the config file's) hide the same.
 */
import { showValue } from './expectation.ts';

/** Words that make an option a secret wherever they stand in its name. */
const SECRET_WORDS = new Set(['password', 'passwd', 'passphrase', 'secret', 'credential', 'credentials', 'hmac']);
/** Words before a final `key` that make it a secret key (apiKey, signingKey), not a name's (dedupKey, tlsKey: a file). */
const SECRET_KEY_KINDS = new Set(['api', 'private', 'signing', 'encryption', 'secret', 'access', 'session', 'hmac', 'master']);
/** A last word that says the option holds something about a secret, not the secret: a file, a name, a header, a count. */
const NOT_THE_SECRET = new Set(['file', 'path', 'dir', 'name', 'header', 'id', 'count', 'limit', 'size', 'length', 'ttl', 'prefix', 'env', 'var', 'type', 'url']);

/** The words of an option key, lowercase: `apiKeyHeader`, `api-key-header` and `API_KEY_HEADER` alike. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/**
 * Whether `--help` and `list` hide the value of the option `key`: a secret word anywhere in its name
 * (`smtpPassword`, `clientSecret`, `awsCredentials`), a last word `token` (`accessToken`; not
 * `maxTokens`, `tokenizer`) or a secret kind of `key` (`apiKey`, `signingKey`), unless the last word
 * says it holds something else (`credentialsFile`, `secretName`, `apiKeyHeader`). A heuristic.
 */
export function isSecretOption(key: string): boolean {
  const parts = words(key);
  const last = parts[parts.length - 1];
  if (last === undefined || NOT_THE_SECRET.has(last)) return false;
  if (parts.some((word) => SECRET_WORDS.has(word)) || last === 'token') return true;
  return last === 'key' && parts.length > 1 && SECRET_KEY_KINDS.has(parts[parts.length - 2]!);
}

// A URL's password: up to the last @ before the host, as a generated password may hold an unencoded /,
// @, comma or quote (shown escaped, \"); a comma that begins the next URL of a list (`,redis://`) ends
// it. In a quoted string (a string value as shown) a space is the password's too; elsewhere it ends it.
const URL_PASSWORD = /(\/\/[^\s/:@",]*:)(?:(?!,\s*[a-z][a-z0-9+.-]*:\/\/)(?:\\"|[^\s"]))*@/gi;
const QUOTED_URL_PASSWORD = /(\/\/[^\s/:@",]*:)(?:(?!,\s*[a-z][a-z0-9+.-]*:\/\/)(?:\\"|[^"]))*@/gi;

/** `shown` (a value as formatted for people) with the password of any URL in it replaced by `***`. */
export function withoutUrlPasswords(shown: string): string {
  return shown.replace(/"(?:\\.|[^"\\])*"|[^"]+|"/g, (part) => part.replace(part.length > 1 && part.startsWith('"') ? QUOTED_URL_PASSWORD : URL_PASSWORD, '$1***@'));
}

/** How a secret option's value is shown: `***`, or empty as it is (nothing to hide). */
export function hiddenValue(shown: string): string {
  return shown === '""' || shown === '' ? shown : '***';
}

/**
 * `value` with the value of each secret-named key of an object inside it (isSecretOption: `password`,
 * `apiKey`) as `***`: a copy where there is one, `value` itself otherwise.
 */
export function withoutSecretKeys(value: unknown): unknown {
  // An object option as given on a command line or in a variable: JSON text.
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      const parsed: unknown = JSON.parse(value);
      const hidden = withoutSecretKeys(parsed);
      return hidden === parsed ? value : JSON.stringify(hidden);
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) {
    const elements = value.map(withoutSecretKeys);
    return elements.some((element, i) => element !== value[i]) ? elements : value;
  }
  if (typeof value !== 'object' || value === null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, inner] of Object.entries(value)) {
    const shown = isSecretOption(key) && inner !== undefined && inner !== '' ? '***' : withoutSecretKeys(inner);
    if (shown !== inner) (copy ??= { ...(value as Record<string, unknown>) })[key] = shown;
  }
  return copy ?? value;
}

/**
 * A value as an error quotes it (expectation.ts showValue), with nothing secret in it: `***` for the
 * value of an option named as a secret (`secret`), else the value with its secret keys and URL
 * passwords hidden, before it is cut short.
 */
export function shownSafely(value: unknown, secret: boolean): string {
  return secret ? '***' : showValue(withoutSecretKeys(value), undefined, withoutUrlPasswords);
}
