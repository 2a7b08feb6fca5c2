/**
 * A channel's messages in flight, by id (nsqd's inFlightMessages, nsqd/channel.go), with the owner
 * checks of FIN, REQ and TOUCH. Each subscriber also keeps its own in a list in timeout order
 * (in-flight-list.ts); this is the lookup by id, and the two change together here.
 *
 * Ids are looked up by their halves (protocol/message-id-hex.ts); the rare message whose id is not
 * hex (a record the broker did not write) by its text, in a map of its own.
 */
import { ProtocolError } from '../../protocol/errors.ts';
import { keyText, type MessageKey } from '../../protocol/message-id-hex.ts';
import type { Subscriber } from './channel-types.ts';
import { HexIdTable } from './hex-id-table.ts';
import type { BrokerMessage } from './message.ts';

export class InFlightTable {
  private readonly byHexId = new HexIdTable<BrokerMessage>();
  private readonly byTextId = new Map<string, BrokerMessage>();

  get size(): number {
    return this.byHexId.size + this.byTextId.size;
  }

  *values(): IterableIterator<BrokerMessage> {
    yield* this.byHexId.valuesInAnyOrder();
    yield* this.byTextId.values();
  }

  /** A message just delivered (its owner set); the subscriber's list is the caller's. */
  add(message: BrokerMessage): void {
    if (message.idText === undefined) this.byHexId.set(message.idHigh, message.idLow, message);
    else this.byTextId.set(message.idText, message);
  }

  /**
   * The message `subscriber` holds by this id. Throws ProtocolError with `code` and nsqd's text,
   * "`command` `id` failed ID not in flight" or "... client does not own message".
   */
  owned(subscriber: Subscriber, key: MessageKey, command: string, code: string): BrokerMessage {
    const message = key.text === undefined ? this.byHexId.get(key.high, key.low) : this.byTextId.get(key.text);
    if (message === undefined) throw new ProtocolError(code, `${command} ${keyText(key)} failed ID not in flight`);
    if (message.owner !== subscriber) throw new ProtocolError(code, `${command} ${keyText(key)} failed client does not own message`);
    return message;
  }

  /** Out of its subscriber's list and out of the table. */
  take(subscriber: Subscriber, message: BrokerMessage): void {
    subscriber.inFlight.remove(message);
    this.forget(message);
  }

  /** Out of the table, owned by nobody (already out of its subscriber's list). */
  forget(message: BrokerMessage): void {
    if (message.idText === undefined) this.byHexId.delete(message.idHigh, message.idLow);
    else this.byTextId.delete(message.idText);
    message.owner = undefined;
  }

  /** Every subscriber's in-flight messages, taken out of flight; their owners hold nothing after. */
  takeAll(subscribers: readonly Subscriber[]): BrokerMessage[] {
    const all = subscribers.flatMap((subscriber) => subscriber.inFlight.drain());
    for (const message of all) message.owner = undefined;
    this.byHexId.clear();
    this.byTextId.clear();
    return all;
  }
}
