import { describe, expect, it } from 'vitest';
import { NsqClientError, ClientErrorCode } from '../../client/errors.ts';
import { FrameSizeError } from '../../protocol/frames.ts';
import { wrongNsqdPort } from '../../runner/ops/wrong-port.ts';

/** What the client says of an HTTP port (a frame size read from "HTTP"), with its address first. */
function httpAnswer(address: string): Error {
  return new Error(`${address}: received an HTTP response: this address is an HTTP port, not an NSQ TCP port`, { cause: new FrameSizeError(1213486160, 1024 * 1024) });
}

describe('wrongNsqdPort', () => {
  const given = ['127.0.0.1:415', '127.0.0.1:4151'];

  it('names the --nsqd-tcp-address that answered HTTP, or as lookupd', () => {
    expect(wrongNsqdPort(httpAnswer('127.0.0.1:4151'), given)).toBe('127.0.0.1:4151');
    const lookupd = new NsqClientError(ClientErrorCode.UnexpectedFrame, "127.0.0.1:415 answered E_BAD_PROTOCOL, as an nsqlookupd's TCP port does: give an nsqd's TCP port (4150 by default)");
    expect(wrongNsqdPort(lookupd, given)).toBe('127.0.0.1:415');
  });

  it('leaves an nsqd lookupd listed, and other errors, to the consumer', () => {
    expect(wrongNsqdPort(httpAnswer('127.0.0.1:5251'), given)).toBeUndefined();
    expect(wrongNsqdPort(new Error('127.0.0.1:4151: connect ECONNREFUSED'), given)).toBeUndefined();
  });
});
