import { describe, expect, it } from 'vitest';
import { asRequeueMessage, NsqClientError, RequeueMessage } from '../../client/errors.ts';

describe('RequeueMessage', () => {
  it('refuses a delay that is not a finite number of ms >= 0 where it is written, with E_INVALID_DELAY', () => {
    for (const delayMs of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      let thrown: unknown;
      try {
        new RequeueMessage(delayMs, false);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, String(delayMs)).toBeInstanceOf(NsqClientError);
      expect((thrown as NsqClientError).code).toBe('E_INVALID_DELAY');
      expect((thrown as NsqClientError).message).toBe(`RequeueMessage delay must be a number of ms >= 0, got ${delayMs}`);
    }
  });

  it('keeps a good delay and the backoff choice; no delay means the default', () => {
    expect(asRequeueMessage(new RequeueMessage(0, false))).toMatchObject({ delayMs: 0, backoff: false });
    expect(asRequeueMessage(new RequeueMessage(2500))).toMatchObject({ delayMs: 2500, backoff: true });
    expect(asRequeueMessage(new RequeueMessage())).toMatchObject({ delayMs: undefined, backoff: true });
  });
});
