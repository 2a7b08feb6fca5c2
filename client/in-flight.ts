/**
 * The messages a connection has delivered and not yet seen answered: added as each arrives, taken
 * out as it is finished or requeued, listed for auto-touch and for the requeue at close.
 *
 * An array whose members know their index (swap-remove) rather than a `Set`: with a handler that
 * answers at once, the set went from empty to a read's worth of messages and back on every socket
 * read, and V8 reallocates a `Set`'s table as it grows and shrinks: its delete was 7% of a no-op
 * worker's CPU profile draining from nsqd.
 */
import type { Message } from './message.ts';

export class InFlightMessages implements Iterable<Message> {
  private readonly items: Message[] = [];

  get size(): number {
    return this.items.length;
  }

  add(message: Message): void {
    message['inFlightSlot'] = this.items.length;
    this.items.push(message);
  }

  has(message: Message): boolean {
    return this.items[message['inFlightSlot']] === message;
  }

  /** Takes the message out; false when it was not in (answered after the connection was reset). */
  delete(message: Message): boolean {
    const slot = message['inFlightSlot'];
    if (this.items[slot] !== message) return false;
    const last = this.items.pop()!;
    if (last !== message) {
      this.items[slot] = last;
      last['inFlightSlot'] = slot;
    }
    message['inFlightSlot'] = -1;
    return true;
  }

  clear(): void {
    for (const message of this.items) message['inFlightSlot'] = -1;
    this.items.length = 0;
  }

  /** The messages now. Taking one out while iterating skips another: copy first (`[...messages]`) to answer them. */
  [Symbol.iterator](): Iterator<Message> {
    return this.items.values();
  }
}
