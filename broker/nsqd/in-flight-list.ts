/**
 * The messages one client holds in flight, in order of their timeouts: an intrusive doubly linked
 * list through the messages' own `previousInFlight`/`nextInFlight` fields. Every message a client
 * receives times out after the same `msg_timeout` (fixed by IDENTIFY, before SUB), so each delivery
 * belongs at the tail and a FIN unlinks in O(1): no heap to sift, which cost 6.6% of the broker's
 * time under nsq's bench_reader. Only a TOUCH capped by max-msg-timeout, or a clock that stepped
 * back, walks from the tail to find its place.
 */
import type { BrokerMessage } from './message.ts';

export class InFlightList {
  private head: BrokerMessage | undefined = undefined;
  private tail: BrokerMessage | undefined = undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The earliest timeout (ms since epoch), or Infinity when empty. */
  get nextDueAtMs(): number {
    return this.head === undefined ? Infinity : this.head.dueAtMs;
  }

  /** Adds a message in order of its `dueAtMs`; ties keep delivery order. */
  insert(message: BrokerMessage): void {
    let before = this.tail;
    while (before !== undefined && before.dueAtMs > message.dueAtMs) before = before.previousInFlight;
    message.previousInFlight = before;
    const after = before === undefined ? this.head : before.nextInFlight;
    message.nextInFlight = after;
    if (before === undefined) this.head = message;
    else before.nextInFlight = message;
    if (after === undefined) this.tail = message;
    else after.previousInFlight = message;
    this.count++;
  }

  /** Unlinks a message this list holds. */
  remove(message: BrokerMessage): void {
    const { previousInFlight: before, nextInFlight: after } = message;
    if (before === undefined) this.head = after;
    else before.nextInFlight = after;
    if (after === undefined) this.tail = before;
    else after.previousInFlight = before;
    message.previousInFlight = undefined;
    message.nextInFlight = undefined;
    this.count--;
  }

  /** Moves a message to its place after its `dueAtMs` changed (TOUCH). */
  reposition(message: BrokerMessage): void {
    this.remove(message);
    this.insert(message);
  }

  /** Removes and returns the earliest message if it is due at `nowMs`. */
  popDue(nowMs: number): BrokerMessage | undefined {
    const first = this.head;
    if (first === undefined || first.dueAtMs > nowMs) return undefined;
    this.remove(first);
    return first;
  }

  /** Removes and returns every message, earliest timeout first. */
  drain(): BrokerMessage[] {
    const all: BrokerMessage[] = [];
    for (let message = this.head; message !== undefined; ) {
      const next = message.nextInFlight;
      message.previousInFlight = undefined;
      message.nextInFlight = undefined;
      all.push(message);
      message = next;
    }
    this.head = undefined;
    this.tail = undefined;
    this.count = 0;
    return all;
  }
}
