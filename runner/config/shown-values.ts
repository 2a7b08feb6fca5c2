/**
 * What `--help` and `list` may print of a value in effect. They print each option's value and its
 * source, which is how a wrong environment is found; but their output is pasted into issues and
 * chat, so a secret is not printed: the value of an option whose name says it holds one (the
 * runner's --auth-secret; a worker's apiKey, smtpPassword, accessToken, clientSecret, privateKey,
 * credentials), and the password of a URL (`postgres://app:pw@db/app`) in any value. Where the value
 * came from is still said.
 */

/** An option key naming a secret, compared without case, dashes or underscores. */
const SECRET_KEY = /password|passwd|passphrase|secret|token|apikey|privatekey|credential/;

/** Whether `--help` and `list` hide the value of the option `key` (camelCase, as in its schema). */
export function isSecretOption(key: string): boolean {
  return SECRET_KEY.test(key.replace(/[-_]/g, '').toLowerCase());
}

/** `shown` (a value as formatted for people) with the password of any URL in it replaced by `***`. */
export function withoutUrlPasswords(shown: string): string {
  return shown.replace(/(\/\/[^\s/:@"]*:)[^\s/@"]+@/g, '$1***@');
}

/** How a secret option's value is shown: `***`, or empty as it is (nothing to hide). */
export function hiddenValue(shown: string): string {
  return shown === '""' || shown === '' ? shown : '***';
}
