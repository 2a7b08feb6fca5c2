/**
 * What to change for an nsqd refusal that a worker's (or a tool's) own settings caused, in the runner's words:
 * the client's errors name its options (`authSecret`), nsqd's name nothing ("cannot SUB in current
 * state (TLS required)"). Each is retried, since nsqd's or the auth server's side may change too.
 */
/**
 * The flags to change for a refusal of the TLS or AUTH settings, or '' for any other error. `tool`:
 * for `nsqworker pub` and `tail`, which take the same flags but no NSQWORKER_* variables.
 */
export function refusalHint(error: Error, { tool = false }: { tool?: boolean } = {}): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'E_AUTH_REQUIRED') return tool ? ': give its secret with --auth-secret' : ': give its secret with --auth-secret or NSQWORKER_AUTH_SECRET';
  // nsqd v1.3.0 says only "AUTH failed" for a secret its auth server refused and for an auth server it
  // could not ask (or that answered nonsense); its own log says which.
  if (code === 'E_AUTH_FAILED') return ": nsqd's auth server refused this --auth-secret, or nsqd could not ask it (nsqd's log says which)";
  if (code === 'E_UNAUTHORIZED') return ": the auth server's grant for this --auth-secret does not cover it";
  if (code === 'E_TLS_FAILED' && error.message.includes('wants a client certificate')) return ': give one with --tls-cert and --tls-key';
  if (code === 'E_INVALID' && error.message.includes('(TLS required)')) return ': that nsqd runs with --tls-required: connect with --tls (and --tls-ca-file for its CA)';
  return '';
}
