/**
 * AUTH and the authorization check before SUB, PUB, MPUB and DPUB, as nsqd v1.3.0 does them
 * (`protocolV2.AUTH` and `CheckAuth` in `nsqd/protocol_v2.go`, `clientV2.QueryAuthd`): errors from
 * the auth servers are logged, never shown to the client, which gets `E_AUTH_FAILED AUTH failed`.
 * Each returns a promise when it must wait for an auth server, and nothing when it can answer now.
 */
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { isAllowed, queryAnyAuthServer, type AuthState } from './auth.ts';
import type { ClientConnection } from './client-connection.ts';
import { goQuote } from './go-quote.ts';
import { clientCa } from './tls-context.ts';

const authFailed = (): ProtocolError => new ProtocolError(ErrorCode.AuthFailed, 'AUTH failed');

export function authEnabled(client: ClientConnection): boolean {
  return client.nsqd.options.authHttpAddresses.length > 0;
}

const hasAuthorizations = (client: ClientConnection): boolean => (client.authState?.authorizations.length ?? 0) > 0;

/** Asks the auth servers about the client's secret; the answer replaces the client's grant. */
async function queryAuth(client: ClientConnection): Promise<AuthState> {
  const { options } = client.nsqd;
  const peer = client.transport.tlsSocket?.getPeerCertificate();
  const commonName = peer !== undefined && peer !== null && typeof peer.subject?.CN === 'string' ? peer.subject.CN : '';
  const state = await queryAnyAuthServer(
    options.authHttpAddresses,
    { remoteIp: client.transport.raw.remoteAddress ?? '', tls: client.transport.tls, secret: client.authSecret, commonName },
    { connectTimeoutMs: options.httpClientConnectTimeoutMs, requestTimeoutMs: options.httpClientRequestTimeoutMs, ca: clientCa(options) },
  );
  client.authState = state;
  return state;
}

/** `AUTH\n[size][secret]`, once the body is known to be well formed. */
export function authenticate(client: ClientConnection, body: Buffer): Promise<void> {
  if (hasAuthorizations(client)) throw new ProtocolError(ErrorCode.Invalid, 'AUTH already set');
  if (!authEnabled(client)) throw new ProtocolError(ErrorCode.AuthDisabled, 'AUTH disabled');
  client.authSecret = body.toString('latin1');
  return queryAuth(client).then(
    (state) => {
      if (state.authorizations.length === 0) throw new ProtocolError(ErrorCode.Unauthorized, 'AUTH no authorizations found');
      const answer = { identity: state.identity, identity_url: state.identityUrl, permission_count: state.authorizations.length };
      client.sendResponse(JSON.stringify(answer));
    },
    (error: unknown) => {
      if (error instanceof ProtocolError) throw error;
      client.nsqd.logger.warn({ client: client.remoteAddress, err: (error as Error).message }, 'AUTH failed');
      throw authFailed();
    },
  );
}

/**
 * The part of CheckAuth that needs no auth server: true when the command may go ahead (auth off, or a
 * grant still valid that allows it), false when the grant has expired and must be fetched again.
 * Throws nsqd's fatal `E_AUTH_FIRST` or `E_UNAUTHORIZED`. MPUB's line is checked with it before its
 * body is read, as nsqd checks MPUB's grant before it reads the body (`protocolV2.MPUB`).
 */
export function checkAuthNow(client: ClientConnection, command: string, topic: string, channel: string): boolean {
  if (!authEnabled(client)) return true;
  if (!hasAuthorizations(client)) throw new ProtocolError(ErrorCode.AuthFirst, `AUTH required before ${command}`);
  const state = client.authState!;
  if (state.expiresAtMs < Date.now()) return false;
  refuseUnlessAllowed(state, command, topic, channel);
  return true;
}

function refuseUnlessAllowed(state: AuthState, command: string, topic: string, channel: string): void {
  if (!isAllowed(state, topic, channel)) {
    throw new ProtocolError(ErrorCode.Unauthorized, `AUTH failed for ${command} on ${goQuote(topic)} ${goQuote(channel)}`);
  }
}

/**
 * nsqd's CheckAuth: with auth on, the client must have a grant that allows `command` on the topic
 * (and channel, for SUB); an expired grant is fetched again first. Throws or rejects with nsqd's
 * fatal `E_AUTH_FIRST`, `E_AUTH_FAILED` or `E_UNAUTHORIZED`.
 */
export function checkAuth(client: ClientConnection, command: string, topic: string, channel: string): Promise<void> | undefined {
  if (checkAuthNow(client, command, topic, channel)) return undefined;
  const verdict = (state: AuthState): void => refuseUnlessAllowed(state, command, topic, channel);
  return queryAuth(client).then(verdict, (error: unknown) => {
    client.nsqd.logger.warn({ client: client.remoteAddress, err: (error as Error).message }, 'AUTH failed');
    throw authFailed();
  });
}
