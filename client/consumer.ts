/**
 * The consumer: subscribes a topic/channel on every nsqd it is given or finds through lookupd,
 * runs the handler for each message (resolve → FIN, throw → REQ with a delay growing with the
 * attempts), gives up after maxAttempts, spreads maxInFlight over its connections, backs off on
 * failures, reconnects, and drains on close().
 *
 * ```ts
 * const consumer = new Consumer({ topic: 'events', channel: 'archive', nsqdTcpAddresses: ['127.0.0.1:4150'] },
 *   async (message) => { await store(message.json()) });
 * consumer.start();
 * ```
 */
import { BackoffController, ExponentialBackoff } from './backoff.ts';
import { LookupdPoller, type LookupdPollResult } from './discovery.ts';
import { ClientErrorCode, GiveUpMessage, NsqClientError, RequeueMessage, coerceError } from './errors.ts';
import { TypedEmitter } from './events.ts';
import { Fifo } from './fifo.ts';
import { Endpoints } from './endpoints.ts';
import type { Message } from './message.ts';
import { ConsumerOptionsSchema, parseOptions, type ConsumerOptions, type ConsumerOptionsInput } from './options.ts';
import { RdyController } from './rdy.ts';
import { Subscription, type AnswerKind, type SubscriptionOwner } from './consumer-connection.ts';

/** Processes one message. Resolve to FIN it; throw to requeue it (see {@link RequeueMessage}, {@link GiveUpMessage}). */
export type MessageHandler = (message: Message) => Promise<void> | void;

/** Called once before a message is dropped for exceeding maxAttempts (or on {@link GiveUpMessage}); FIN follows. */
export type GiveUpHook = (message: Message, lastError: Error | undefined) => Promise<void> | void;

export interface ConsumerWarning {
  code: 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS' | 'W_HANDLER_AFTER_ANSWER';
  message: string;
}

export type ConsumerEvents = {
  connected: [address: string];
  disconnected: [address: string, error: Error | undefined];
  message: [message: Message];
  finished: [message: Message];
  /** `error` is what the handler threw, when a failure caused the requeue. */
  requeued: [message: Message, delayMs: number, error: Error | undefined];
  backoff: [level: number, durationMs: number];
  discarded: [message: Message, error: Error | undefined];
  error: [error: Error];
  warning: [warning: ConsumerWarning];
};

export interface ConsumerConfig extends ConsumerOptionsInput {
  onGiveUp?: GiveUpHook;
}

/**
 * The control errors a handler throws are recognised by their code as well as their class: a
 * handler may use another copy of this package (a second install, or code loaded in a fresh module
 * graph), whose classes are not ours.
 */
function isGiveUpMessage(error: unknown): boolean {
  return error instanceof GiveUpMessage || (error as { code?: unknown } | null)?.code === 'E_GIVE_UP';
}

function asRequeueMessage(error: unknown): { delayMs?: number | undefined; backoff: boolean } | undefined {
  if (error instanceof RequeueMessage) return error;
  const candidate = error as { code?: unknown; delayMs?: unknown; backoff?: unknown } | null;
  if (candidate?.code !== 'E_REQUEUE') return undefined;
  return {
    delayMs: typeof candidate.delayMs === 'number' ? candidate.delayMs : undefined,
    backoff: candidate.backoff !== false,
  };
}

export class Consumer extends TypedEmitter<ConsumerEvents> implements SubscriptionOwner {
  readonly options: ConsumerOptions;
  private readonly onGiveUp: GiveUpHook | undefined;
  private readonly endpoints: Endpoints;
  private readonly rdy: RdyController<Subscription>;
  private readonly backoff: BackoffController;
  private poller: LookupdPoller | undefined;
  private redistributeTimer: NodeJS.Timeout | undefined;
  private touchTimer: NodeJS.Timeout | undefined;
  private running = 0;
  /** Messages that arrived while maxInFlight handlers were running (a RDY race), oldest first. */
  private readonly held = new Fifo<{ message: Message; subscription: Subscription }>();
  private drainWaiter: (() => void) | undefined;
  private started = false;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private warnedBelowConnections = false;
  /** The handler's error for the requeue being sent right now (answers are synchronous). */
  private failureInProgress: Error | undefined;

  constructor(
    config: ConsumerConfig,
    private readonly handler: MessageHandler,
  ) {
    super();
    const { onGiveUp, ...options } = config;
    this.options = parseOptions(ConsumerOptionsSchema, options, 'consumer');
    if (typeof handler !== 'function') throw new NsqClientError(ClientErrorCode.InvalidOptions, 'the message handler must be a function');
    this.onGiveUp = onGiveUp;
    const o = this.options;
    this.rdy = new RdyController({
      maxInFlight: o.maxInFlight,
      rotateAfterMs: o.rdyRedistributeIntervalMs,
      lowRdyIdleTimeoutMs: o.lowRdyIdleTimeoutMs,
    });
    const strategy = new ExponentialBackoff({
      multiplierMs: o.backoffMultiplierMs,
      maxDurationMs: o.maxBackoffDurationMs,
      fullJitter: o.backoffFullJitter,
    });
    this.endpoints = new Endpoints(o, {
      create: (address) => new Subscription(address, o.topic, o.channel, o, this),
      connected: (subscription) => {
        this.rdy.add(subscription);
        this.checkInFlightWarning();
        this.emit('connected', subscription.address);
      },
      failed: (_address, error) => this.emit('error', coerceError(error)),
    });
    this.backoff = new BackoffController(strategy, {
      pause: () => this.rdy.setMode('paused'),
      test: () => {
        if (this.rdy.connections.length === 0) return false;
        this.rdy.setMode('testing');
        return true;
      },
      resume: () => this.rdy.setMode('normal'),
      changed: (level, durationMs) => this.emit('backoff', level, durationMs),
    });
  }

  /** Connects to the nsqd addresses and starts lookupd polling. Idempotent. */
  start(): this {
    if (this.started || this.closing) return this;
    this.started = true;
    for (const address of this.options.nsqdTcpAddresses) this.endpoints.add(address, 'direct');
    if (this.options.lookupdHttpAddresses.length > 0) {
      this.poller = new LookupdPoller(
        {
          addresses: this.options.lookupdHttpAddresses,
          topic: this.options.topic,
          intervalMs: this.options.lookupdPollIntervalMs,
          jitter: this.options.lookupdPollJitter,
          requestTimeoutMs: this.options.lookupdRequestTimeoutMs,
        },
        (result) => this.onLookupResult(result),
        (error) => this.emit('error', error),
      );
      this.poller.start();
    }
    this.redistributeTimer = setInterval(() => {
      if (this.rdy.rotating || this.backoff.backingOff) this.rdy.redistribute();
    }, this.options.rdyRedistributeIntervalMs);
    this.redistributeTimer.unref();
    if (this.options.autoTouch) {
      const periodMs = Math.max(500, (this.options.msgTimeoutMs ?? 60_000) / 2);
      this.touchTimer = setInterval(() => this.touchRunning(), periodMs);
      this.touchTimer.unref();
    }
    return this;
  }

  /** Changes maxInFlight at run time; 0 pauses delivery. */
  setMaxInFlight(maxInFlight: number): void {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 0) {
      throw new NsqClientError(ClientErrorCode.InvalidOptions, `maxInFlight must be an integer >= 0, got ${maxInFlight}`);
    }
    this.options.maxInFlight = maxInFlight;
    this.rdy.setMaxInFlight(maxInFlight);
    this.checkInFlightWarning();
    this.runHeld();
  }

  /** Addresses of the nsqd instances currently subscribed. */
  get connectedAddresses(): string[] {
    return this.rdy.connections.map((s) => s.address);
  }

  /** Every nsqd address the consumer connects (or reconnects) to: direct ones and those lookupd lists. */
  get knownAddresses(): string[] {
    return this.endpoints.addresses;
  }

  /** Handlers running now. */
  get runningHandlers(): number {
    return this.running;
  }

  /** The current backoff level (0 when not backing off). */
  get backoffLevel(): number {
    return this.backoff.level;
  }

  /**
   * Stops taking messages (CLS everywhere), waits for running handlers up to closeTimeoutMs,
   * requeues what is still unanswered, and closes every connection. A second call returns the same promise.
   */
  close(): Promise<void> {
    this.closePromise ??= this.drainAndClose();
    return this.closePromise;
  }

  // SubscriptionOwner

  onSubscriptionMessage(message: Message, subscription: Subscription): void {
    if (this.closing || subscription.closing) {
      message.requeue(0, { backoff: false });
      return;
    }
    // RDY changes race with messages already on the wire (nsqd does not acknowledge RDY), so a
    // message can arrive beyond maxInFlight; it waits here rather than run over the limit.
    if (this.running >= this.options.maxInFlight) {
      this.held.push({ message, subscription });
      return;
    }
    this.run(message);
  }

  private run(message: Message): void {
    const maxAttempts = this.options.maxAttempts;
    this.running++;
    if (maxAttempts > 0 && message.attempts > maxAttempts) {
      void this.giveUp(message, undefined);
      return;
    }
    if (this.hasListeners('message')) this.emit('message', message);
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

  onSubscriptionAnswered(message: Message, _subscription: Subscription, kind: AnswerKind, delayMs: number, backoff: boolean): void {
    if (!this.closing) this.backoff.signal(kind === 'finish' ? 'success' : backoff ? 'failure' : 'continue');
    this.rdy.onMessageDone();
    if (kind === 'finish') {
      if (this.hasListeners('finished')) this.emit('finished', message);
    } else if (this.hasListeners('requeued')) {
      this.emit('requeued', message, delayMs, this.failureInProgress);
    }
  }

  onSubscriptionError(error: Error, _subscription: Subscription): void {
    this.emit('error', error);
  }

  onSubscriptionClosed(subscription: Subscription, error: Error | undefined): void {
    // nsqd redelivers what was in flight here after its timeout; answers to those go nowhere.
    subscription.messages.clear();
    subscription.inFlight = 0;
    this.rdy.remove(subscription);
    const fromLookupd = this.endpoints.closed(subscription);
    this.emit('disconnected', subscription.address, error);
    if (fromLookupd && !this.closing) this.poller?.pollSoon();
  }

  defaultRequeueDelayMs(message: Message): number {
    return Math.min(this.options.requeueDelayMs * message.attempts, this.options.maxRequeueDelayMs);
  }

  // Handler outcomes

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
      this.emit('warning', {
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
      // A RequeueMessage with a bad delay: report it and requeue with the default delay.
      this.emit('error', coerceError(invalid));
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
        this.emit('error', coerceError(thrown));
        message.requeue(undefined, { backoff: true });
        this.handlerExited();
        return;
      }
    }
    if (message.finish()) this.emit('discarded', message, error);
    this.handlerExited();
  }

  private handlerExited(): void {
    this.running--;
    if (this.running === 0 && this.drainWaiter !== undefined) this.drainWaiter();
    if (this.held.length > 0) this.runHeld();
  }

  private runHeld(): void {
    while (this.held.length > 0 && !this.closing && this.running < this.options.maxInFlight) {
      const { message, subscription } = this.held.shift()!;
      // One whose connection died is nsqd's to redeliver.
      if (subscription.messages.has(message)) this.run(message);
    }
  }

  private touchRunning(): void {
    for (const subscription of this.rdy.connections) for (const message of subscription.messages) message.touch();
  }

  // Connections

  private onLookupResult(result: LookupdPollResult): void {
    if (this.closing) return;
    // Gone from every lookupd: stop taking work there and close once its messages are answered.
    for (const subscription of this.endpoints.applyLookup(result)) void this.retire(subscription);
  }

  private async retire(subscription: Subscription): Promise<void> {
    this.rdy.remove(subscription);
    await subscription.sendClose();
    await withDeadline(subscription.whenIdle(), Date.now() + this.options.closeTimeoutMs);
    await subscription.connection.end();
  }

  private checkInFlightWarning(): void {
    const n = this.rdy.connections.length;
    const below = this.options.maxInFlight > 0 && this.options.maxInFlight < n;
    if (below && !this.warnedBelowConnections) {
      this.emit('warning', {
        code: 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS',
        message: `maxInFlight ${this.options.maxInFlight} is below the ${n} connections: RDY rotates among them every ${this.options.rdyRedistributeIntervalMs}ms`,
      });
    }
    this.warnedBelowConnections = below;
  }

  private async drainAndClose(): Promise<void> {
    this.closing = true;
    this.poller?.stop();
    this.backoff.stop();
    clearInterval(this.redistributeTimer);
    clearInterval(this.touchTimer);
    const openings = this.endpoints.stop();
    const deadline = Date.now() + this.options.closeTimeoutMs;
    const subscriptions = [...this.rdy.connections];
    const closeWaits = Promise.all(subscriptions.map((s) => s.sendClose()));
    if (this.running > 0) {
      await withDeadline(new Promise<void>((resolve) => (this.drainWaiter = resolve)), deadline);
      this.drainWaiter = undefined;
    }
    this.held.drain();
    // Whatever is still unanswered (held ones included) goes back to nsqd now rather than after its msg timeout.
    for (const subscription of subscriptions) {
      for (const message of [...subscription.messages]) message.requeue(0, { backoff: false });
    }
    await withDeadline(closeWaits, deadline);
    await Promise.all(subscriptions.map((s) => s.connection.end()));
    await openings;
    for (const subscription of subscriptions) this.rdy.remove(subscription);
  }
}

/** Waits for `promise` or until `deadline` (ms since epoch), whichever comes first. */
function withDeadline(promise: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
  return Promise.race([promise.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
