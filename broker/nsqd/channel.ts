/**
 * A channel: its subscribers share its messages. It owns the waiting backlog, the in-flight table
 * (with a deadline heap for timeouts) and the deferred heap (REQ with a delay, DPUB). One timer per
 * channel is armed for the earliest deadline, and re-armed only when an earlier one appears, so
 * there is no per-message timer.
 */
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { Backlog, type BacklogOptions } from './backlog.ts';
import { DeadlineHeap } from './deadline-heap.ts';
import type { BrokerMessage, MessageOwner } from './message.ts';

/** The broker-side view of a subscribed client connection. */
export interface Subscriber extends MessageOwner {
  inFlightCount: number;
  messageCount: number;
  finishCount: number;
  requeueCount: number;
  readonly msgTimeoutMs: number;
  readonly sampleRate: number;
  /** RDY > in flight, subscribed, not closing, socket not backed up. */
  isReady(): boolean;
  sendMessage(message: BrokerMessage): void;
  /** The channel is going away: close the connection. */
  closeForDelete(): void;
}

export interface ChannelLimits {
  maxReqTimeoutMs: number;
  maxMsgTimeoutMs: number;
}

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

  constructor(
    readonly topicName: string,
    readonly name: string,
    readonly ephemeral: boolean,
    backlog: BacklogOptions,
    private readonly limits: ChannelLimits,
  ) {
    this.backlog = new Backlog(backlog);
  }

  get depth(): number {
    return this.backlog.depth;
  }

  get deferredCount(): number {
    return this.deferred.size;
  }

  /** A message from the topic. */
  put(message: BrokerMessage): void {
    this.messageCount++;
    this.backlog.put(message);
    this.pump();
  }

  /** A message from the topic that becomes deliverable at `dueAtMs` (DPUB). */
  putDeferred(message: BrokerMessage, dueAtMs: number): void {
    this.messageCount++;
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
        this.backlog.put(message);
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
    if (delay === 0) this.backlog.put(message);
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
  }

  /**
   * Clean shutdown: in-flight messages join the backlog on disk; deferred messages are handed back
   * with their due times so the caller can store them (they keep their delay across a restart).
   */
  closeForShutdown(): BrokerMessage[] {
    this.stopTimer();
    const inFlight = this.inFlightDeadlines.drain();
    this.inFlight.clear();
    const deferred = this.deferred.drain();
    this.backlog.persistAndClose(inFlight);
    return deferred;
  }

  /** Restores a deferred message after a restart. */
  restoreDeferred(message: BrokerMessage, dueAtMs: number): void {
    this.defer(message, dueAtMs);
  }

  private defer(message: BrokerMessage, dueAtMs: number): void {
    message.owner = undefined;
    message.dueAtMs = dueAtMs;
    this.deferred.push(message);
    this.armTimer(dueAtMs);
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
      this.backlog.put(message);
    }
    for (let message = this.deferred.popDue(now); message !== undefined; message = this.deferred.popDue(now)) {
      this.backlog.put(message);
    }
    const next = Math.min(this.inFlightDeadlines.nextDueAtMs, this.deferred.nextDueAtMs);
    if (next !== Infinity) this.armTimer(next);
    this.pump();
  }
}
