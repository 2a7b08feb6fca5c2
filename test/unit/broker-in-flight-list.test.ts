import { describe, expect, it } from 'vitest';
import { InFlightList } from '../../broker/nsqd/in-flight-list.ts';
import { BrokerMessage } from '../../broker/nsqd/message.ts';

const message = (n: number, dueAtMs: number): BrokerMessage => {
  const made = BrokerMessage.withId(n.toString(16).padStart(16, '0'), 0, Buffer.from([n]));
  made.dueAtMs = dueAtMs;
  return made;
};
const ids = (messages: BrokerMessage[]): number[] => messages.map((each) => each.body[0]!);

describe('InFlightList', () => {
  it('keeps timeout order through inserts, removals, repositions and a clock that steps back', () => {
    const list = new InFlightList();
    // Deliveries in time order, then one whose clock stepped back (3), then a tie with 10 (5).
    const messages = [message(0, 10), message(1, 20), message(2, 30), message(3, 15), message(4, 30), message(5, 10)];
    for (const each of messages) list.insert(each);
    expect(list.size).toBe(6);
    expect(list.nextDueAtMs).toBe(10);
    list.remove(messages[1]!); // middle
    list.remove(messages[4]!); // tail
    messages[0]!.dueAtMs = 25; // TOUCH of the head, capped below the tail's timeout
    list.reposition(messages[0]!);
    expect(list.popDue(9)).toBeUndefined();
    expect(ids([list.popDue(15)!, list.popDue(15)!])).toEqual([5, 3]);
    expect(list.popDue(15)).toBeUndefined();
    expect(ids(list.drain())).toEqual([0, 2]);
    expect(list.size).toBe(0);
    expect(list.nextDueAtMs).toBe(Infinity);
    // Drained messages are unlinked: they can join a list again.
    list.insert(messages[2]!);
    list.remove(messages[2]!);
    expect(list.drain()).toEqual([]);
  });

  it('matches a sorted model over random operations', () => {
    let seed = 7;
    const random = (below: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % below;
    };
    const list = new InFlightList();
    let model: BrokerMessage[] = [];
    let now = 0;
    for (let step = 0; step < 5000; step++) {
      const choice = random(10);
      if (choice < 5) {
        now += random(3);
        const made = message(step % 256, now + (random(8) === 0 ? random(50) : 40));
        list.insert(made);
        // Ties keep insertion order: after every equal timeout.
        const at = model.findIndex((each) => each.dueAtMs > made.dueAtMs);
        model.splice(at < 0 ? model.length : at, 0, made);
      } else if (choice < 8 && model.length > 0) {
        const gone = model.splice(random(model.length), 1)[0]!;
        list.remove(gone);
      } else if (choice < 9 && model.length > 0) {
        const touched = model.splice(random(model.length), 1)[0]!;
        touched.dueAtMs += random(60);
        list.reposition(touched);
        const at = model.findIndex((each) => each.dueAtMs > touched.dueAtMs);
        model.splice(at < 0 ? model.length : at, 0, touched);
      } else {
        for (let due = list.popDue(now); due !== undefined; due = list.popDue(now)) expect(due).toBe(model.shift());
        expect(model[0]?.dueAtMs ?? Infinity).toBeGreaterThan(now);
      }
      expect(list.size).toBe(model.length);
      expect(list.nextDueAtMs).toBe(model[0]?.dueAtMs ?? Infinity);
    }
    expect(list.drain()).toEqual(model);
  });
});
