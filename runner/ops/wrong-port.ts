/**
 * An --nsqd-tcp-address that is no nsqd's TCP port: one that answered HTTP (nsqd's or lookupd's
 * HTTP port), or lookupd's TCP port (it refuses the V2 protocol with E_BAD_PROTOCOL). No reconnect
 * mends either, so the runner stops on it (exit 2) as it does for a bad flag at start. An nsqd that
 * lookupd listed is not the user's typing: its failures stay the consumer's, retried and logged.
 */
import { isHttpResponseError } from '../../protocol/frames.ts';
import { errorCode } from './late-answer.ts';

/**
 * The given address (one of `given`, --nsqd-tcp-address) that a consumer's `error` shows to be no
 * nsqd's TCP port, or undefined. The client's errors begin with their address (client/connection.ts).
 */
export function wrongNsqdPort(error: Error, given: readonly string[]): string | undefined {
  const lookupdPort = errorCode(error) === 'E_UNEXPECTED_FRAME' && error.message.includes('answered E_BAD_PROTOCOL');
  if (!lookupdPort && !isHttpResponseError(error)) return undefined;
  return given.find((address) => error.message.startsWith(`${address}:`) || error.message.startsWith(`${address} `));
}
