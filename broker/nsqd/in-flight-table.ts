/**
 * A channel's messages in flight, by id (nsqd's inFlightMessages, nsqd/channel.go), with the owner
 * checks of FIN, REQ and TOUCH. Each subscriber also keeps its own in a list in timeout order
 * (in-flight-list.ts); this is the lookup by id, and the two change together here.
 */
import { ProtocolError } from '../../protocol/errors.ts';
import { StringTable, hashKey } from '../../protocol/string-table.ts';
import type { Subscriber } from './channel-types.ts';
import type { BrokerMessage } from './message.ts';

export class InFlightTable {
  private readonly byId = new StringTable<BrokerMessage>();

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<BrokerMessage> {
    return this.byId.valuesInAnyOrder();
  }

  /** A message just delivered (its owner set); the subscriber's list is the caller's. */
  add(message: BrokerMessage): void {
    this.byId.set(message.id, hashKey(message.id), message);
  }

  /**
   * The message `subscriber` holds by this id (`hash`: its hashKey). Throws ProtocolError with
   * `code` and nsqd's text, "`command` `id` failed ID not in flight" or "... client does not own message".
   */
  owned(subscriber: Subscriber, id: string, hash: number, command: string, code: string): BrokerMessage {
    const message = this.byId.get(id, hash);
    if (message === undefined) throw new ProtocolError(code, `${command} ${id} failed ID not in flight`);
    if (message.owner !== subscriber) throw new ProtocolError(code, `${command} ${id} failed client does not own message`);
    return message;
  }

  /** Out of its subscriber's list and out of the table. */
  take(subscriber: Subscriber, message: BrokerMessage, hash: number): void {
    subscriber.inFlight.remove(message);
    this.forget(message, hash);
  }

  /** Out of the table, owned by nobody (already out of its subscriber's list). */
  forget(message: BrokerMessage, hash = hashKey(message.id)): void {
    this.byId.delete(message.id, hash);
    message.owner = undefined;
  }

  /** Every subscriber's in-flight messages, taken out of flight; their owners hold nothing after. */
  takeAll(subscribers: readonly Subscriber[]): BrokerMessage[] {
    const all = subscribers.flatMap((subscriber) => subscriber.inFlight.drain());
    for (const message of all) message.owner = undefined;
    this.byId.clear();
    return all;
  }
}
