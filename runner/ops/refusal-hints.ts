/**
 * What to change for an nsqd refusal that a worker's own settings caused, in the runner's words:
 * the client's errors name its options (`authSecret`), nsqd's name nothing ("cannot SUB in current
 * state (TLS required)"). Each is retried, since nsqd's or the auth server's side may change too.
 */
/** The runner's flags for a refusal of its TLS or AUTH settings, or '' for any other error. */
export function refusalHint(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'E_AUTH_REQUIRED') return ': give its secret with --auth-secret or NSQWORKER_AUTH_SECRET';
  if (code === 'E_UNAUTHORIZED') return ": the auth server's grant for this --auth-secret does not cover it";
  if (code === 'E_INVALID' && error.message.includes('(TLS required)')) return ': that nsqd runs with --tls-required: connect with --tls (and --tls-ca-file for its CA)';
  return '';
}
