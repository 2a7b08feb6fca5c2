/**
 * The consumer's message handling: runs the handler for each message under maxInFlight, holds what
 * arrives beyond it, and turns the handler's outcome into FIN, REQ or a give-up. The consumer's
 * connections, RDY and backoff are consumer.ts's; this file sees only messages and events.
 */
import { asRequeueMessage, coerceError, isGiveUpMessage } from './errors.ts';
import type { TypedEmitter } from './events.ts';
import { Fifo } from './fifo.ts';
import type { Message } from './message.ts';
import type { ConsumerOptions } from './options.ts';
import type { Subscription } from './consumer-connection.ts';
import type { ConsumerEvents, GiveUpHook, MessageHandler } from './consumer-types.ts';

/** Runs a consumer's handler; one per consumer. */
export class HandlerRunner {
  /** Handlers running now. */
  running = 0;
  /** The handler's error for the requeue being sent right now (answers are synchronous). */
  failureInProgress: Error | undefined;
  /** Messages that arrived while maxInFlight handlers were running (a RDY race), oldest first. */
  private readonly held = new Fifo<{ message: Message; subscription: Subscription }>();
  private drainWaiter: (() => void) | undefined;
  private closing = false;

  constructor(
    private readonly options: ConsumerOptions,
    private readonly handler: MessageHandler,
    private readonly onGiveUp: GiveUpHook | undefined,
    private readonly events: TypedEmitter<ConsumerEvents>,
  ) {}

  /** Runs the handler for a delivered message now, or holds it while maxInFlight handlers run. */
  deliver(message: Message, subscription: Subscription): void {
    // RDY changes race with messages already on the wire (nsqd does not acknowledge RDY), so a
    // message can arrive beyond maxInFlight; it waits here rather than run over the limit.
    if (this.running >= this.options.maxInFlight) {
      this.held.push({ message, subscription });
      return;
    }
    this.run(message);
  }

  /** At close: runs nothing more from the held ones. */
  stopTaking(): void {
    this.closing = true;
  }

  /** Resolves once no handler runs. */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.drainWaiter = resolve));
  }

  /**
   * Takes `message` out of the held ones, with any whose connection has gone meanwhile; false when
   * it is not held (its handler runs, or ran). Scans the held ones: for the overdue watch, once a
   * second at most, not per message.
   */
  releaseHeld(message: Message): boolean {
    if (this.held.length === 0) return false;
    const items = this.held.drain();
    const kept = items.filter((item) => item.message !== message && item.subscription.messages.has(item.message));
    this.held.unshiftAll(kept);
    return items.some((item) => item.message === message);
  }

  /** Forgets the held messages (their subscriptions requeue them) and any idle waiter. */
  dropHeld(): void {
    this.drainWaiter = undefined;
    this.held.drain();
  }

  private run(message: Message): void {
    const maxAttempts = this.options.maxAttempts;
    this.running++;
    if (maxAttempts > 0 && message.attempts > maxAttempts) {
      void this.giveUp(message, undefined);
      return;
    }
    if (this.events.hasListeners('message')) this.events.emit('message', message);
    let result: Promise<void> | void;
    try {
      result = this.handler(message);
    } catch (thrown) {
      void this.handlerFailed(message, thrown);
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') void this.awaitHandler(message, result);
    else this.handlerDone(message);
  }

  private async awaitHandler(message: Message, result: Promise<void>): Promise<void> {
    try {
      await result;
    } catch (thrown) {
      await this.handlerFailed(message, thrown);
      return;
    }
    this.handlerDone(message);
  }

  private handlerDone(message: Message): void {
    message.finish();
    this.handlerExited();
  }

  private async handlerFailed(message: Message, thrown: unknown): Promise<void> {
    const error = coerceError(thrown);
    if (message.hasResponded) {
      this.events.emit('warning', {
        code: 'W_HANDLER_AFTER_ANSWER',
        message: `handler failed after answering message ${message.id}: ${error.message}`,
      });
      this.handlerExited();
      return;
    }
    const maxAttempts = this.options.maxAttempts;
    const requeueRequest = asRequeueMessage(error);
    if (isGiveUpMessage(error) || (maxAttempts > 0 && message.attempts >= maxAttempts && requeueRequest === undefined)) {
      await this.giveUp(message, error);
      return;
    }
    this.failureInProgress = error;
    try {
      if (requeueRequest !== undefined) message.requeue(requeueRequest.delayMs, { backoff: requeueRequest.backoff });
      else message.requeue();
    } catch (invalid) {
      // A RequeueMessage with a bad delay (ours refuse one when made; another copy of an older
      // version may not): report it and requeue with the default delay.
      this.events.emit('error', coerceError(invalid));
      message.requeue();
    } finally {
      this.failureInProgress = undefined;
    }
    this.handlerExited();
  }

  /**
   * Runs the give-up hook, then FIN: the message will not be seen again. If the hook fails (say it
   * could not store the message elsewhere), the message is requeued instead, so it is not lost.
   */
  private async giveUp(message: Message, error: Error | undefined): Promise<void> {
    if (this.onGiveUp !== undefined) {
      try {
        await this.onGiveUp(message, error);
      } catch (thrown) {
        this.events.emit('error', coerceError(thrown));
        message.requeue(undefined, { backoff: true });
        this.handlerExited();
        return;
      }
    }
    if (message.finish()) this.events.emit('discarded', message, error);
    this.handlerExited();
  }

  private handlerExited(): void {
    this.running--;
    if (this.running === 0 && this.drainWaiter !== undefined) this.drainWaiter();
    if (this.held.length > 0) this.runHeld();
  }

  /** Runs held messages while there is room under maxInFlight. */
  runHeld(): void {
    while (this.held.length > 0 && !this.closing && this.running < this.options.maxInFlight) {
      const { message, subscription } = this.held.shift()!;
      // One whose connection died is nsqd's to redeliver.
      if (subscription.messages.has(message)) this.run(message);
    }
  }
}
