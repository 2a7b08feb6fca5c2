/**
 * Errors of the bundled nsqlookupd. Protocol errors sent to a peer are {@link ProtocolError}s from
 * protocol/; these are the failures the lookupd reports to whoever started it.
 */

import { CodedError } from '../../protocol/coded-error.ts';

export const LookupdErrorCode = {
  /** Options failed validation. */
  InvalidOptions: 'E_LOOKUPD_INVALID_OPTIONS',
  /** A TCP or HTTP listener could not bind. */
  ListenFailed: 'E_LOOKUPD_LISTEN_FAILED',
} as const;

export type LookupdErrorCode = (typeof LookupdErrorCode)[keyof typeof LookupdErrorCode];

export class LookupdError extends CodedError<LookupdErrorCode> {
  override readonly name = 'LookupdError';
}
