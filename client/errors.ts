/**
 * Client errors. Every error has a stable `code`; errors the broker sent are
 * {@link ProtocolError}s from protocol/ (code `E_BAD_TOPIC`, `E_PUB_FAILED`, ...) and are passed on as they are.
 */

import { CodedError } from '../protocol/coded-error.ts';
import { thrownText } from '../protocol/thrown-text.ts';

export const ClientErrorCode = {
  /** Options failed validation. */
  InvalidOptions: 'E_INVALID_OPTIONS',
  /** A topic name does not match nsqd's rules. */
  InvalidTopic: 'E_INVALID_TOPIC',
  /** A channel name does not match nsqd's rules. */
  InvalidChannel: 'E_INVALID_CHANNEL',
  /** A body is empty, or cannot be turned into bytes. */
  InvalidBody: 'E_INVALID_BODY',
  /** A body (or an MPUB batch) is larger than the configured limit. */
  BodyTooLarge: 'E_BODY_TOO_LARGE',
  /** A defer delay is not an integer in 0..max. */
  InvalidDelay: 'E_INVALID_DELAY',
  /** The TCP connection could not be made within the connect timeout. */
  ConnectTimeout: 'E_CONNECT_TIMEOUT',
  /** The TCP connection failed or was closed. */
  ConnectionClosed: 'E_CONNECTION_CLOSED',
  /** Nothing was read for two heartbeat intervals. */
  ReadTimeout: 'E_READ_TIMEOUT',
  /** The server broke the protocol: an unknown frame type, a bad IDENTIFY answer, a reply with nothing pending. */
  UnexpectedFrame: 'E_UNEXPECTED_FRAME',
  /** The server requires AUTH and no secret was configured. */
  AuthRequired: 'E_AUTH_REQUIRED',
  /** The server negotiated TLS or compression that this client did not ask for. */
  UnsupportedFeature: 'E_UNSUPPORTED_FEATURE',
  /** TLS was asked for and the server does not offer it, or the handshake failed (a certificate that does not verify). */
  TlsFailed: 'E_TLS_FAILED',
  /** A publish was written but the connection closed before the broker answered: it may or may not be published. */
  Unconfirmed: 'E_PUBLISH_UNCONFIRMED',
  /** The producer or consumer is closed. */
  Closed: 'E_CLOSED',
  /** A lookupd query failed. */
  LookupFailed: 'E_LOOKUP_FAILED',
  /** nsqd's HTTP API refused a publish. */
  HttpPublishFailed: 'E_HTTP_PUBLISH_FAILED',
  /** The message handler threw or rejected. */
  HandlerFailed: 'E_HANDLER_FAILED',
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** An error raised by the client itself (not sent by the broker). */
export class NsqClientError extends CodedError<ClientErrorCode> {
  override readonly name = 'NsqClientError';
}

/** A lookupd query that failed: network error, timeout, a non-200/404 status or a body we cannot read. */
export class LookupError extends NsqClientError {
  constructor(
    readonly url: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(ClientErrorCode.LookupFailed, message, options);
  }
}

/** nsqd's HTTP API answered a publish with a non-200 status. `reason` is nsqd's `message` (e.g. `MSG_TOO_BIG`). */
export class HttpPublishError extends NsqClientError {
  constructor(
    readonly status: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(ClientErrorCode.HttpPublishFailed, `HTTP publish failed: ${status} ${reason}`, options);
  }
}

/**
 * Throws E_INVALID_DELAY, naming `what` (`requeue delay`), unless `delayMs` is undefined (the
 * default delay) or a finite number of ms >= 0: Message.requeue and RequeueMessage both check it.
 */
export function checkRequeueDelay(delayMs: number | undefined, what: string): void {
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new NsqClientError(ClientErrorCode.InvalidDelay, `${what} must be a number of ms >= 0, got ${delayMs}`);
  }
}

/**
 * Thrown by a message handler to requeue with a chosen delay (and, optionally, without a backoff
 * signal), instead of the default delay computed from the attempts.
 *
 * @param delayMs ms before redelivery (REQ's timeout), >= 0; default: the consumer's requeue delay
 *   × attempts. nsqd caps it at its --max-req-timeout (1h by default).
 * @param backoff whether the failure counts toward the consumer's backoff; default true.
 * @throws NsqClientError E_INVALID_DELAY for a delay that is not a finite number >= 0 (NaN, a
 *   negative number, Infinity), here where it is written rather than when the message is answered.
 */
export class RequeueMessage extends Error {
  override readonly name = 'RequeueMessage';
  readonly code = 'E_REQUEUE';
  constructor(
    readonly delayMs?: number,
    readonly backoff: boolean = true,
    options?: { cause?: unknown },
  ) {
    checkRequeueDelay(delayMs, 'RequeueMessage delay');
    super(delayMs === undefined ? 'requeue requested' : `requeue requested in ${delayMs}ms`, options);
  }
}

/** Thrown by a message handler to give up on a message now: the give-up hook runs, then FIN. */
export class GiveUpMessage extends Error {
  override readonly name = 'GiveUpMessage';
  readonly code = 'E_GIVE_UP';
}

/**
 * The control errors a handler throws are recognised by their code as well as their class: a
 * handler may use another copy of this package (a second install, or code loaded in a fresh module
 * graph), whose classes are not ours.
 */
export function isGiveUpMessage(error: unknown): boolean {
  return error instanceof GiveUpMessage || (error as { code?: unknown } | null)?.code === 'E_GIVE_UP';
}

/** The requeue a handler asked for by throwing {@link RequeueMessage} (of any copy), or undefined. */
export function asRequeueMessage(error: unknown): { delayMs?: number | undefined; backoff: boolean } | undefined {
  if (error instanceof RequeueMessage) return error;
  const candidate = error as { code?: unknown; delayMs?: unknown; backoff?: unknown } | null;
  if (candidate?.code !== 'E_REQUEUE') return undefined;
  return {
    delayMs: typeof candidate.delayMs === 'number' ? candidate.delayMs : undefined,
    backoff: candidate.backoff !== false,
  };
}

/** Turns anything thrown into an Error, so hooks and events always get one. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new NsqClientError(ClientErrorCode.HandlerFailed, `non-error thrown: ${thrownText(thrown)}`, { cause: thrown });
}
