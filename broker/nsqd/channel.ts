/**
 * A channel: its subscribers share its messages. It owns the waiting backlog, the in-flight table
 * (by id; each subscriber's messages also in a list in timeout order) and the deferred heap (REQ
 * with a delay, DPUB). One timer per channel is armed for the earliest deadline, and re-armed only
 * when an earlier one appears, so there is no per-message timer.
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { Backlog, type BacklogOptions } from './backlog.ts';
import { DeadlineHeap } from './deadline-heap.ts';
import { DeadlineTimer } from './deadline-timer.ts';
import { deadlineNow } from './deadline-clock.ts';
import type { MessageKey } from '../../protocol/message-id-hex.ts';
import { InFlightTable } from './in-flight-table.ts';
import { openJournalFor, type DeferredJournal } from './deferred-journal.ts';
import type { ChannelLimits, Subscriber } from './channel-types.ts';
import type { BrokerMessage } from './message.ts';

export type { ChannelLimits, Subscriber } from './channel-types.ts';

export class Channel {
  readonly backlog: Backlog;
  readonly subscribers: Subscriber[] = [];
  private readonly inFlight = new InFlightTable();
  private readonly deferred = new DeadlineHeap();
  paused = false;
  deleted = false;
  messageCount = 0;
  requeueCount = 0;
  timeoutCount = 0;
  private nextSubscriber = 0;
  private readonly timer = new DeadlineTimer(() => this.processDue());
  /** Sync mode: the deferred messages' journal. */
  private readonly journal: DeferredJournal | undefined;

  constructor(
    readonly topicName: string,
    readonly name: string,
    readonly ephemeral: boolean,
    backlog: BacklogOptions,
    private readonly limits: ChannelLimits,
  ) {
    this.backlog = new Backlog(backlog);
    const opened = this.backlog.durable ? openJournalFor(backlog) : undefined;
    this.journal = opened?.journal;
    for (const { message, dueAtMs } of opened?.restored ?? []) this.enqueueDeferred(message, dueAtMs);
  }

  get depth(): number {
    return this.backlog.depth;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The messages in flight to any subscriber. */
  inFlightMessages(): IterableIterator<BrokerMessage> {
    return this.inFlight.values();
  }

  get deferredCount(): number {
    return this.deferred.size;
  }

  /** A message from the topic. Returns false when it is held in memory only (its disk write failed). */
  put(message: BrokerMessage): boolean {
    this.messageCount++;
    const stored = this.backlog.put(message);
    this.pump();
    return stored;
  }

  /** A message published now would wait (messages wait already, paused, nobody ready): see Topic.publishAll. */
  queuesNext(): boolean {
    if (this.backlog.depth > 0 || this.paused || this.deleted) return true;
    const subscribers = this.subscribers;
    for (let i = 0; i < subscribers.length; i++) if (subscribers[i]!.isReady()) return false;
    return true;
  }

  /** A message from the topic as its header and `frame[start, end)`, for one that {@link queuesNext}; not pumped. See Backlog.putRecord. */
  putRecord(header: Buffer, frame: Buffer, start: number, end: number, sharedBy: number): void {
    this.messageCount++;
    this.backlog.putRecord(header, frame, start, end, sharedBy);
  }

  /** A DPUB from the topic, due at `dueAtMs`; sync mode journals it first, or throws if `strict`. */
  putDeferred(message: BrokerMessage, dueAtMs: number, strict = true): void {
    this.messageCount++;
    message.dueAtMs = dueAtMs;
    if (strict) this.journal?.add(message);
    this.defer(message, dueAtMs);
  }

  addSubscriber(subscriber: Subscriber): void {
    this.subscribers.push(subscriber);
  }

  /**
   * A subscriber left: its in-flight messages go back to the queue at once (nsqd waits for the
   * timeout), each counted in timeout_count, as nsqd counts it once that timeout passes.
   */
  removeSubscriber(subscriber: Subscriber): void {
    const index = this.subscribers.indexOf(subscriber);
    if (index < 0) return;
    this.subscribers.splice(index, 1);
    for (const message of subscriber.inFlight.drain()) {
      this.inFlight.forget(message);
      this.timeoutCount++;
      this.putBack(message);
    }
    this.pump();
  }

  /** Delivers waiting messages to ready subscribers, round robin. */
  pump(): void {
    if (this.paused || this.deleted) return;
    const subscribers = this.subscribers;
    while (this.backlog.depth > 0) {
      // Read each time: a subscriber can leave during a send (see deliver).
      const count = subscribers.length;
      if (count === 0) return;
      let subscriber: Subscriber | undefined;
      for (let i = 0; i < count; i++) {
        const candidate = subscribers[(this.nextSubscriber + i) % count]!;
        if (candidate.isReady()) {
          subscriber = candidate;
          this.nextSubscriber = (this.nextSubscriber + i + 1) % count;
          break;
        }
      }
      if (subscriber === undefined) return;
      const message = this.backlog.shift();
      if (message === undefined) return;
      // nsqd's sample_rate: a sampled-out message is dropped for this channel.
      if (subscriber.sampleRate > 0 && Math.floor(Math.random() * 100) > subscriber.sampleRate) continue;
      this.deliver(subscriber, message);
    }
  }

  private deliver(subscriber: Subscriber, message: BrokerMessage): void {
    const now = deadlineNow();
    message.attempts++;
    message.owner = subscriber;
    message.deliveredAtMs = now;
    message.dueAtMs = now + subscriber.msgTimeoutMs;
    subscriber.messageCount++;
    // In flight before the send: a connection can close inside its own send (a flush runs the group
    // commit, whose failed fsync drops those waiting for an OK), putting back only what it holds.
    this.inFlight.add(message);
    subscriber.inFlight.insert(message);
    this.timer.arm(message.dueAtMs);
    subscriber.sendMessage(message);
  }

  finish(subscriber: Subscriber, id: MessageKey): void {
    const message = this.inFlight.owned(subscriber, id, 'FIN', ErrorCode.FinFailed);
    this.inFlight.take(subscriber, message);
    this.release(message);
    subscriber.finishCount++;
    this.pump();
  }

  requeue(subscriber: Subscriber, id: MessageKey, delayMs: number): void {
    const message = this.inFlight.owned(subscriber, id, 'REQ', ErrorCode.ReqFailed);
    this.inFlight.take(subscriber, message);
    subscriber.requeueCount++;
    this.requeueCount++;
    const delay = Math.min(Math.max(0, delayMs), this.limits.maxReqTimeoutMs);
    if (delay === 0) this.putBack(message);
    else this.defer(message, deadlineNow() + delay);
    this.pump();
  }

  touch(subscriber: Subscriber, id: MessageKey): void {
    const message = this.inFlight.owned(subscriber, id, 'TOUCH', ErrorCode.TouchFailed);
    const now = deadlineNow();
    message.dueAtMs = Math.min(now + subscriber.msgTimeoutMs, message.deliveredAtMs + this.limits.maxMsgTimeoutMs);
    subscriber.inFlight.reposition(message);
    // Earlier than before when the default msg-timeout exceeds max-msg-timeout; arming costs nothing otherwise.
    this.timer.arm(message.dueAtMs);
  }

  pause(): void {
    this.paused = true;
  }

  unpause(): void {
    this.paused = false;
    this.pump();
  }

  /** Drops every message: waiting, in flight and deferred; clients' in-flight counts go to 0. */
  empty(): void {
    this.backlog.empty();
    this.journal?.clear();
    this.inFlight.takeAll(this.subscribers);
    this.deferred.drain();
  }

  /** Deleted: closes every subscriber and removes the files. */
  delete(): void {
    this.deleted = true;
    this.timer.stop();
    this.inFlight.takeAll(this.subscribers);
    for (const subscriber of this.subscribers.splice(0)) subscriber.closeForDelete();
    this.deferred.drain();
    this.backlog.deleteFiles();
    this.journal?.deleteFile();
  }

  /**
   * Clean shutdown: in-flight messages join the backlog on disk; deferred messages are handed back
   * with their due times so the caller can store them (they keep their delay across a restart),
   * except in sync mode, where the journal keeps them.
   */
  closeForShutdown(): BrokerMessage[] {
    this.timer.stop();
    const inFlight = this.inFlight.takeAll(this.subscribers);
    const deferred = this.deferred.drain();
    this.backlog.persistAndClose(inFlight);
    if (this.journal === undefined) return deferred;
    // In-flight ones the journal held are in the queue now.
    for (const message of inFlight) this.journal.done(message);
    this.journal.close();
    return [];
  }

  /** Restores a deferred message after a restart. */
  restoreDeferred(message: BrokerMessage, dueAtMs: number): void {
    this.defer(message, dueAtMs);
  }

  /** Defers; sync mode journals it (if not yet) and releases its queue record (kept if the journal fails). */
  private defer(message: BrokerMessage, dueAtMs: number): void {
    message.ownBody();
    message.owner = undefined;
    message.dueAtMs = dueAtMs;
    if (this.journal !== undefined && !message.journaled) {
      try {
        this.journal.add(message);
        this.backlog.release(message);
      } catch (error) {
        this.backlog.reportDiskFailure(error);
      }
    }
    this.enqueueDeferred(message, dueAtMs);
  }

  private enqueueDeferred(message: BrokerMessage, dueAtMs: number): void {
    this.deferred.push(message);
    this.timer.arm(dueAtMs);
  }

  /**
   * Back to the queue; in sync mode its old records are released once the new copy is stored. Its
   * body gets memory of its own if it shares much more (a memory queue's slab, a large MPUB frame):
   * a message requeued again and again would keep all of that alive.
   */
  private putBack(message: BrokerMessage): void {
    message.ownBody();
    if (this.backlog.put(message)) this.release(message);
  }

  /** Finished, or stored durably elsewhere: its queue record and journal entry may go. */
  private release(message: BrokerMessage): void {
    this.backlog.release(message);
    this.journal?.done(message);
  }

  /** Times out what is overdue in flight, releases what deferred is due, then re-arms for the next. */
  private processDue(): void {
    if (this.deleted) return;
    const now = deadlineNow();
    let next = Infinity;
    for (const subscriber of this.subscribers) {
      const list = subscriber.inFlight;
      for (let message = list.popDue(now); message !== undefined; message = list.popDue(now)) {
        this.inFlight.forget(message);
        this.timeoutCount++;
        this.putBack(message);
      }
      next = Math.min(next, list.nextDueAtMs);
    }
    for (let message = this.deferred.popDue(now); message !== undefined; message = this.deferred.popDue(now)) {
      this.putBack(message);
    }
    next = Math.min(next, this.deferred.nextDueAtMs);
    if (next !== Infinity) this.timer.arm(next);
    this.pump();
  }
}
