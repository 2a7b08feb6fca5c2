/**
 * The producer's optional re-publish policy: a publish that nsqd refused for a reason of its own
 * (`E_PUB_FAILED`, `E_MPUB_FAILED`, `E_DPUB_FAILED`), that no nsqd accepted a connection for (a
 * network failure, a TLS handshake or an AUTH that failed: each may pass), or
 * whose connection dropped before nsqd answered (`E_PUBLISH_UNCONFIRMED`) is sent again, on the next
 * nsqd, after an exponential backoff. Retrying an unconfirmed publish may duplicate it: NSQ is at
 * least once, and consumers must tolerate a repeat. A publish that cannot succeed anywhere (a bad
 * topic, an oversized body, a closed producer) is never retried.
 */
import { z } from 'zod';
import { ErrorCode, ProtocolError } from '../protocol/errors.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';

const int = z.number().int();

/** `retry` in the Producer's options. */
export const PublishRetrySchema = z.object({
  attempts: int.min(1).max(100).default(5).describe('Attempts in all, the first included (1 = no retry)'),
  initialDelayMs: int.min(0).default(100).describe('Wait before the second attempt, ms; doubles on each attempt after'),
  maxDelayMs: int.min(0).default(5000).describe('Longest wait between attempts, ms'),
}).strict();

export type PublishRetryOptions = z.output<typeof PublishRetrySchema>;

// E_TLS_FAILED and E_AUTH_FAILED may pass: a connection cut during the handshake reads as a failed
// handshake, and nsqd answers E_AUTH_FAILED for an auth server it cannot reach as for a refused secret.
const RETRYABLE_CLIENT_CODES: ReadonlySet<string> = new Set([
  ClientErrorCode.Unconfirmed,
  ClientErrorCode.ConnectionClosed,
  ClientErrorCode.ConnectTimeout,
  ClientErrorCode.ReadTimeout,
  ClientErrorCode.TlsFailed,
]);

const RETRYABLE_BROKER_CODES: ReadonlySet<string> = new Set([ErrorCode.PubFailed, ErrorCode.MpubFailed, ErrorCode.DpubFailed, ErrorCode.AuthFailed]);

/** True when another nsqd, or the same one a moment later, may accept what this error refused. */
export function isRetryablePublishError(error: unknown): boolean {
  if (error instanceof NsqClientError) return RETRYABLE_CLIENT_CODES.has(error.code);
  if (error instanceof ProtocolError) return RETRYABLE_BROKER_CODES.has(error.code);
  return false;
}

/** The wait before attempt `attempt` (2 is the first retry), ms: initialDelayMs × 2^(attempt − 2), capped. */
export function retryDelayMs(options: PublishRetryOptions, attempt: number): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 2));
}
