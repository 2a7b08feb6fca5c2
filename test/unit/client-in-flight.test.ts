import { describe, expect, it } from 'vitest';
import { InFlightMessages } from '../../client/in-flight.ts';
import { Message, type MessageResponder } from '../../client/message.ts';

const responder: MessageResponder = { finishMessage() {}, requeueMessage() {}, touchMessage() {} };
const message = (n: number): Message => new Message({ id: n.toString(16).padStart(16, '0'), attempts: 1, timestampNs: 0, body: Buffer.from([n]) }, responder, '127.0.0.1:4150');

describe('InFlightMessages', () => {
  it('adds, takes out in any order (once), lists and clears', () => {
    const list = new InFlightMessages();
    const messages = [0, 1, 2, 3, 4].map(message);
    for (const each of messages) list.add(each);
    expect(list.delete(messages[1]!)).toBe(true);
    expect(list.delete(messages[1]!)).toBe(false); // answered twice, or after a reset
    expect(list.delete(messages[4]!)).toBe(true); // the last one
    expect(list.delete(messages[0]!)).toBe(true);
    expect(list.size).toBe(2);
    expect(new Set(list)).toEqual(new Set([messages[2], messages[3]]));
    expect(list.has(messages[3]!) && !list.has(messages[0]!)).toBe(true);
    list.clear();
    expect(list.size).toBe(0);
    expect(list.has(messages[2]!) || list.delete(messages[3]!)).toBe(false);
    // A message of another list (another connection) is not taken for one of this one.
    const other = new InFlightMessages();
    other.add(messages[0]!);
    list.add(messages[1]!);
    expect(list.delete(messages[0]!)).toBe(false);
    expect(other.delete(messages[0]!)).toBe(true);
  });
});
