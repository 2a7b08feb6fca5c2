/**
 * A message as one channel holds it. The body is shared between the copies a topic hands to its
 * channels (it is never mutated); everything else is per channel, because each channel tracks its
 * own delivery, attempts and deadlines.
 */
import type { TimestampNs } from '../../protocol/message.ts';

/** Who holds a message in flight: only the owner may FIN, REQ or TOUCH it. */
export interface MessageOwner {
  readonly id: number;
}

export class BrokerMessage {
  /** Delivery count; incremented when the message is sent to a client. */
  attempts: number;
  /** The client that holds it in flight, if any. */
  owner: MessageOwner | undefined = undefined;
  /**
   * When it was last delivered, on the deadline clock (deadline-clock.ts, ms): TOUCH cannot extend it
   * past this + max-msg-timeout. That clock keeps it, and `dueAtMs`, a small integer from the start:
   * a field that starts as one and later holds a `Date.now()` made V8 change the objects' layout at
   * the first delivery, and migrate each message made before it when first touched; a backlog built
   * before any consumer came was delivered at half the speed (nsq's bench_reader on a
   * 1,000,000-message backlog: about 200,000 → 450,000 msg/s).
   */
  deliveredAtMs = 0;
  /** In flight: when it times out. Deferred: when it becomes due. On the deadline clock (ms). */
  dueAtMs = 0;
  /** Deferred: its position in the channel's deferred heap; -1 when in none. */
  heapIndex = -1;
  /** In flight: its neighbours in its client's list, earlier and later timeouts (in-flight-list.ts). */
  previousInFlight: BrokerMessage | undefined = undefined;
  nextInFlight: BrokerMessage | undefined = undefined;
  /**
   * A DPUB delay not started yet, in ms: set while the message waits in a topic's memory (no channel
   * yet, or paused); the delay starts when the topic hands it to its channels, as in nsqd. It is not
   * written to disk, so a copy that overflows to the topic's disk queue loses it, as in nsqd.
   */
  deferMs = 0;
  /**
   * Sync mode: the record this message was read from in its queue's disk queue, which stays
   * before the saved read position until the message is finished or stored durably elsewhere
   * (disk-queue-acks.ts); -1 when none.
   */
  diskSeq = -1;
  /** Sync mode: its deferral is recorded in the channel's journal (deferred-journal.ts). */
  journaled = false;

  constructor(
    readonly id: string,
    readonly timestampNs: TimestampNs,
    readonly body: Buffer,
    attempts = 0,
  ) {
    this.attempts = attempts;
  }

  /** A fresh copy for another channel: same id, timestamp and body, its own delivery state. */
  copy(): BrokerMessage {
    return new BrokerMessage(this.id, this.timestampNs, this.body, this.attempts);
  }
}
