/**
 * A broker message's payload as it goes out in a message frame (broker/nsqd/message.ts): the same
 * 26-byte header and body whether the header is copied from the record it was read from or written
 * afresh, with the attempts of this delivery, not the record's.
 */
import { describe, expect, it } from 'vitest';
import { BrokerMessage } from '../../broker/nsqd/message.ts';
import { MESSAGE_HEADER_SIZE, encodeMessagePayload } from '../../protocol/message.ts';

const TIMESTAMP = 1_796_000_000_123_456_789;

/** A record as a slab or a disk queue holds it, with other bytes around it. */
function inRecord(id: string, attempts: number, body: string): { source: Buffer; at: number } {
  const record = encodeMessagePayload(TIMESTAMP, attempts, id, Buffer.from(body));
  return { source: Buffer.concat([Buffer.from('before'), record, Buffer.from('after')]), at: 6 };
}

function payloadOf(message: BrokerMessage): Buffer {
  const target = Buffer.alloc(MESSAGE_HEADER_SIZE + message.bodyLength + 4, 0x2e);
  expect(message.writePayload(target, 2)).toBe(2 + MESSAGE_HEADER_SIZE + message.bodyLength);
  expect(target.toString('latin1', 0, 2) + target.toString('latin1', target.length - 2)).toBe('....');
  return target.subarray(2, target.length - 2);
}

describe('BrokerMessage payload', () => {
  it('copies the header of its record with the body, and writes this delivery’s attempts into it', () => {
    for (const id of ['0123456789abcdef', 'ABCDEF0123456789']) {
      const { source, at } = inRecord(id, 3, 'hello');
      const message = BrokerMessage.fromHeader(source, at, source, at + MESSAGE_HEADER_SIZE, source.length - 5);
      expect(message.headerInSource).toBe(true);
      message.attempts = 300;
      expect(payloadOf(message)).toEqual(encodeMessagePayload(TIMESTAMP, 300, id, Buffer.from('hello')));
      // The record itself is not written to.
      expect(source.subarray(at)).toEqual(Buffer.concat([encodeMessagePayload(TIMESTAMP, 3, id, Buffer.from('hello')), Buffer.from('after')]));
      const copy = message.copy();
      copy.attempts = 1;
      expect(payloadOf(copy)).toEqual(encodeMessagePayload(TIMESTAMP, 1, id, Buffer.from('hello')));
    }
  });

  it('writes the header afresh when it is not just before the body in the same buffer', () => {
    const { source, at } = inRecord('0123456789abcdef', 0, 'hello');
    const apart = BrokerMessage.fromHeader(Buffer.from(source.subarray(at, at + MESSAGE_HEADER_SIZE)), 0, source, at + MESSAGE_HEADER_SIZE, source.length - 5);
    const elsewhere = BrokerMessage.fromHeader(source, at, source, at + MESSAGE_HEADER_SIZE + 1, source.length - 5);
    expect([apart.headerInSource, elsewhere.headerInSource]).toEqual([false, false]);
    apart.attempts = 2;
    expect(payloadOf(apart)).toEqual(encodeMessagePayload(TIMESTAMP, 2, '0123456789abcdef', Buffer.from('hello')));
    expect(payloadOf(elsewhere)).toEqual(encodeMessagePayload(TIMESTAMP, 0, '0123456789abcdef', Buffer.from('ello')));
    // A body given memory of its own leaves its header behind.
    const big = Buffer.concat([inRecord('0123456789abcdef', 0, 'x').source, Buffer.alloc(100_000)]);
    const owning = BrokerMessage.fromHeader(big, 6, big, 6 + MESSAGE_HEADER_SIZE, 6 + MESSAGE_HEADER_SIZE + 1);
    owning.ownBody();
    expect(owning.headerInSource).toBe(false);
    expect(payloadOf(owning)).toEqual(encodeMessagePayload(TIMESTAMP, 0, '0123456789abcdef', Buffer.from('x')));
  });
});
