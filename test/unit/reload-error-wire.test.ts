/**
 * A task's error thrown in a reload child and rebuilt in the runner (reload/protocol.ts): its
 * message, stack and the fields the consumer steers by, and its class's name, which a log line
 * gives as `err.type` (pino's err serializer reads the constructor's name).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { coerceError } from '../../client/errors.ts';
import { deserializeError, deserializeThrown, serializeError } from '../../runner/reload/protocol.ts';

const logged = (error: Error): Record<string, unknown> => pino.stdSerializers.err(error) as unknown as Record<string, unknown>;

describe('an error sent from a reload child', () => {
  it("keeps its class's name for the log: a TypeError, a user's class", () => {
    class PaymentError extends Error {}
    for (const thrown of [new TypeError('x is not a function'), new PaymentError('card declined'), new Error('plain')]) {
      const rebuilt = deserializeError(serializeError(thrown));
      expect(logged(rebuilt)).toMatchObject({ type: logged(thrown).type, message: thrown.message, stack: thrown.stack });
      expect(rebuilt).toBeInstanceOf(Error);
      // The same keys as in process: no `name` of the rebuilt error's own beside pino's `type`.
      expect(Object.keys(logged(rebuilt)).sort()).toEqual(Object.keys(logged(thrown)).sort());
      expect(rebuilt.name).toBe(thrown.name);
    }
    // A class that names its errors (this.name in its constructor, an own field): kept as in process.
    class QuotaError extends Error {
      constructor(message: string) {
        super(message);
        this.name = 'QuotaError';
      }
    }
    const named = new QuotaError('over quota');
    expect(logged(deserializeError(serializeError(named)))).toMatchObject({ type: 'QuotaError', name: 'QuotaError', message: 'over quota' });
    expect(Object.keys(logged(deserializeError(serializeError(named)))).sort()).toEqual(Object.keys(logged(named)).sort());
  });

  it("keeps a user's own fields of primitive values, as a log line shows them in process", () => {
    class PaymentDeclined extends Error {
      constructor(
        readonly orderId: string,
        readonly code: string,
      ) {
        super(`order ${orderId} declined`);
      }
    }
    const thrown = Object.assign(new PaymentDeclined('o-17', 'E_DECLINED'), { attempt: 2, card: { last4: '4242' } });
    const rebuilt = logged(deserializeError(serializeError(thrown)));
    expect(rebuilt).toMatchObject({ type: 'PaymentDeclined', orderId: 'o-17', code: 'E_DECLINED', attempt: 2 });
    // An object field does not cross: it might not survive the channel's copy.
    expect(rebuilt.card).toBeUndefined();
  });

  it('keeps the fields a requeue steers by', () => {
    const thrown = Object.assign(new Error('later'), { code: 'E_LATER', delayMs: 500, backoff: false });
    expect(deserializeError(serializeError(thrown))).toMatchObject({ message: 'later', code: 'E_LATER', delayMs: 500, backoff: false });
  });

  it('a thrown value that is no Error reaches the runner as thrown, to be worded as a task in process has it', () => {
    for (const thrown of ['out of paper', 42, null]) {
      const rebuilt = deserializeThrown(serializeError(thrown));
      expect(rebuilt).toBe(String(thrown));
      expect(coerceError(rebuilt)).toMatchObject({ code: 'E_HANDLER_FAILED', message: `non-error thrown: ${String(thrown)}` });
    }
    const error = new RangeError('too far');
    expect(logged(deserializeThrown(serializeError(error)) as Error)).toMatchObject({ type: 'RangeError', message: 'too far' });
  });
});
