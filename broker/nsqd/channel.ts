/**
 * A channel: its subscribers share its messages. It owns the waiting backlog, the in-flight table
 * (with a deadline heap for timeouts) and the deferred heap (REQ with a delay, DPUB). One timer per
 * channel is armed for the earliest deadline, and re-armed only when an earlier one appears, so
 * there is no per-message timer.
 */
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { Backlog, type BacklogOptions } from './backlog.ts';
import { DeadlineHeap } from './deadline-heap.ts';
import { openJournalFor, type DeferredJournal } from './deferred-journal.ts';
import type { ChannelLimits, Subscriber } from './channel-types.ts';
import type { BrokerMessage } from './message.ts';

export type { ChannelLimits, Subscriber } from './channel-types.ts';

export class Channel {
  readonly backlog: Backlog;
  readonly subscribers: Subscriber[] = [];
  readonly inFlight = new Map<string, BrokerMessage>();
  private readonly inFlightDeadlines = new DeadlineHeap();
  private readonly deferred = new DeadlineHeap();
  paused = false;
  deleted = false;
  messageCount = 0;
  requeueCount = 0;
  timeoutCount = 0;
  private nextSubscriber = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAtMs = Infinity;
  private readonly onTimer = (): void => this.processDue();
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

  /** A subscriber left: its in-flight messages go back to the queue at once (nsqd waits for the timeout). */
  removeSubscriber(subscriber: Subscriber): void {
    const index = this.subscribers.indexOf(subscriber);
    if (index < 0) return;
    this.subscribers.splice(index, 1);
    if (subscriber.inFlightCount > 0) {
      for (const message of this.inFlight.values()) {
        if (message.owner !== subscriber) continue;
        this.takeOutOfFlight(message);
        this.putBack(message);
      }
      subscriber.inFlightCount = 0;
    }
    this.pump();
  }

  /** Delivers waiting messages to ready subscribers, round robin. */
  pump(): void {
    if (this.paused || this.deleted) return;
    const subscribers = this.subscribers;
    const count = subscribers.length;
    if (count === 0) return;
    while (this.backlog.depth > 0) {
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
    const now = Date.now();
    message.attempts++;
    message.owner = subscriber;
    message.deliveredAtMs = now;
    message.dueAtMs = now + subscriber.msgTimeoutMs;
    this.inFlight.set(message.id, message);
    this.inFlightDeadlines.push(message);
    this.armTimer(message.dueAtMs);
    subscriber.inFlightCount++;
    subscriber.messageCount++;
    subscriber.sendMessage(message);
  }

  finish(subscriber: Subscriber, id: string): void {
    const message = this.ownedInFlight(subscriber, id, 'FIN', ErrorCode.FinFailed);
    this.takeOutOfFlight(message);
    this.release(message);
    subscriber.inFlightCount--;
    subscriber.finishCount++;
    this.pump();
  }

  requeue(subscriber: Subscriber, id: string, delayMs: number): void {
    const message = this.ownedInFlight(subscriber, id, 'REQ', ErrorCode.ReqFailed);
    this.takeOutOfFlight(message);
    subscriber.inFlightCount--;
    subscriber.requeueCount++;
    this.requeueCount++;
    const delay = Math.min(Math.max(0, delayMs), this.limits.maxReqTimeoutMs);
    if (delay === 0) this.putBack(message);
    else this.defer(message, Date.now() + delay);
    this.pump();
  }

  touch(subscriber: Subscriber, id: string): void {
    const message = this.ownedInFlight(subscriber, id, 'TOUCH', ErrorCode.TouchFailed);
    const now = Date.now();
    message.dueAtMs = Math.min(now + subscriber.msgTimeoutMs, message.deliveredAtMs + this.limits.maxMsgTimeoutMs);
    this.inFlightDeadlines.update(message);
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
    this.inFlight.clear();
    this.inFlightDeadlines.drain();
    this.deferred.drain();
    for (const subscriber of this.subscribers) subscriber.inFlightCount = 0;
  }

  /** Deleted: closes every subscriber and removes the files. */
  delete(): void {
    this.deleted = true;
    this.stopTimer();
    for (const subscriber of this.subscribers.splice(0)) subscriber.closeForDelete();
    this.inFlight.clear();
    this.inFlightDeadlines.drain();
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
    this.stopTimer();
    const inFlight = this.inFlightDeadlines.drain();
    this.inFlight.clear();
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
    this.armTimer(dueAtMs);
  }

  /** Back to the queue; in sync mode its old records are released once the new copy is stored. */
  private putBack(message: BrokerMessage): void {
    if (this.backlog.put(message)) this.release(message);
  }

  /** Finished, or stored durably elsewhere: its queue record and journal entry may go. */
  private release(message: BrokerMessage): void {
    this.backlog.release(message);
    this.journal?.done(message);
  }

  private ownedInFlight(subscriber: Subscriber, id: string, command: string, code: string): BrokerMessage {
    const message = this.inFlight.get(id);
    if (message === undefined) throw new ProtocolError(code, `${command} ${id} failed ID not in flight`);
    if (message.owner !== subscriber) throw new ProtocolError(code, `${command} ${id} failed client does not own message`);
    return message;
  }

  private takeOutOfFlight(message: BrokerMessage): void {
    this.inFlight.delete(message.id);
    this.inFlightDeadlines.remove(message);
    message.owner = undefined;
  }

  private armTimer(dueAtMs: number): void {
    if (dueAtMs >= this.timerDueAtMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDueAtMs = dueAtMs;
    this.timer = setTimeout(this.onTimer, Math.max(0, dueAtMs - Date.now()));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAtMs = Infinity;
  }

  /** Times out what is overdue in flight, releases what deferred is due, then re-arms for the next. */
  private processDue(): void {
    this.timer = undefined;
    this.timerDueAtMs = Infinity;
    if (this.deleted) return;
    const now = Date.now();
    for (let message = this.inFlightDeadlines.popDue(now); message !== undefined; message = this.inFlightDeadlines.popDue(now)) {
      this.inFlight.delete(message.id);
      const owner = message.owner as Subscriber | undefined;
      if (owner !== undefined) owner.inFlightCount--;
      message.owner = undefined;
      this.timeoutCount++;
      this.putBack(message);
    }
    for (let message = this.deferred.popDue(now); message !== undefined; message = this.deferred.popDue(now)) {
      this.putBack(message);
    }
    const next = Math.min(this.inFlightDeadlines.nextDueAtMs, this.deferred.nextDueAtMs);
    if (next !== Infinity) this.armTimer(next);
    this.pump();
  }
}
