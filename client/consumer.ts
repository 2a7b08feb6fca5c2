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
import { LookupdPoller, lookupdPollerOptions, type LookupdPollResult } from './discovery.ts';
import { ClientErrorCode, NsqClientError, coerceError } from './errors.ts';
import { TypedEmitter } from './events.ts';
import { Endpoints } from './endpoints.ts';
import type { Message } from './message.ts';
import { ConsumerOptionsSchema, parseOptions, type ConsumerOptions } from './options.ts';
import { RdyController } from './rdy.ts';
import { belowConnectionsWarning, warnUnheardFailure } from './consumer-warnings.ts';
import { compressionDeclined } from './upgrade.ts';
import { Subscription, type AnswerKind, type SubscriptionOwner } from './consumer-connection.ts';
import type { ConsumerConfig, ConsumerEvents, MessageHandler, NsqdNodeInfo } from './consumer-types.ts';
import type { LookupdDiscovery } from './lookupd-discovery.ts';
import { HandlerRunner } from './handler-runner.ts';
import { within } from './within.ts';
import { OverdueWatch } from './overdue-watch.ts';

export type { ConsumerConfig, ConsumerEvents, ConsumerWarning, GiveUpHook, MessageHandler, NsqdNodeInfo } from './consumer-types.ts';

export class Consumer extends TypedEmitter<ConsumerEvents> implements SubscriptionOwner {
  readonly options: ConsumerOptions;
  private readonly handlers: HandlerRunner;
  private readonly endpoints: Endpoints;
  private readonly rdy: RdyController<Subscription>;
  private readonly backoff: BackoffController;
  private poller: LookupdPoller | undefined;
  private readonly discovery: LookupdDiscovery | undefined;
  private readonly prepare: ((nsqd: NsqdNodeInfo) => Promise<void>) | undefined;
  private readonly onSharedResult = (result: LookupdPollResult): void => this.onLookupResult(result);
  private redistributeTimer: NodeJS.Timeout | undefined;
  private touchTimer: NodeJS.Timeout | undefined;
  private touchPeriodMs = Infinity;
  private readonly overdue = new OverdueWatch(() => this.rdy.connections, (warning) => this.emit('warning', warning), (message, at) => this.letGo(message, at));
  private started = false;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private warnedBelowConnections = false;
  protected override warnUnheardErrors = true;
  private warnedUnheardFailure = false;

  /**
   * Checks the options (see ConsumerOptionsInput for units and defaults); connects at start().
   * @throws NsqClientError `E_INVALID_OPTIONS` listing every problem: a bad topic or channel name, a
   *   value out of range, no address, an unknown key (with the nearest known one), a handler that is
   *   not a function, or a `discovery` of another topic.
   */
  constructor(
    config: ConsumerConfig,
    handler: MessageHandler,
  ) {
    super();
    const { onGiveUp, discovery, beforeSubscribe, ...options } = config;
    this.options = parseOptions(ConsumerOptionsSchema, options, 'consumer');
    if (discovery !== undefined && discovery.options.topic !== this.options.topic) {
      throw new NsqClientError(ClientErrorCode.InvalidOptions, `the shared discovery polls topic ${discovery.options.topic}, not ${this.options.topic}`);
    }
    this.discovery = discovery;
    this.prepare = beforeSubscribe;
    if (typeof handler !== 'function') throw new NsqClientError(ClientErrorCode.InvalidOptions, 'the message handler must be a function');
    this.handlers = new HandlerRunner(this.options, handler, onGiveUp, this);
    const o = this.options;
    this.rdy = new RdyController({
      maxInFlight: o.maxInFlight,
      rotateAfterMs: o.rdyRedistributeIntervalMs,
      lowRdyIdleTimeoutMs: o.lowRdyIdleTimeoutMs,
    });
    const strategy = new ExponentialBackoff({ multiplierMs: o.backoffMultiplierMs, maxDurationMs: o.maxBackoffDurationMs, fullJitter: o.backoffFullJitter });
    this.endpoints = new Endpoints(o, {
      create: (address) => new Subscription(address, o.topic, o.channel, o, this),
      connected: (subscription) => {
        this.rdy.add(subscription);
        this.touchOftenEnoughFor(subscription.msgTimeoutMs);
        this.checkInFlightWarning();
        const declined = compressionDeclined(subscription.address, subscription.connection.identity.negotiated, o);
        if (declined !== undefined) this.emit('warning', declined);
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
    if (this.discovery !== undefined) {
      this.discovery.on('result', this.onSharedResult);
      const latest = this.discovery.lastResult;
      if (latest !== undefined) this.onLookupResult(latest);
      this.discovery.start();
    } else if (this.options.lookupdHttpAddresses.length > 0) {
      this.poller = new LookupdPoller(lookupdPollerOptions(this.options), (result) => this.onLookupResult(result), (error) => this.emit('error', error));
      this.poller.start();
    }
    this.redistributeTimer = setInterval(() => {
      if (this.rdy.rotating || this.backoff.backingOff) this.rdy.redistribute();
    }, this.options.rdyRedistributeIntervalMs);
    this.redistributeTimer.unref();
    this.overdue.start();
    this.touchOftenEnoughFor(this.options.msgTimeoutMs ?? 60_000);
    return this;
  }

  /**
   * autoTouch touches every message in flight at half the shortest message timeout seen: the option's
   * until a connection's IDENTIFY gives the nsqd's own (`--msg-timeout`, when the option is not set).
   */
  private touchOftenEnoughFor(msgTimeoutMs: number): void {
    const periodMs = Math.max(500, msgTimeoutMs / 2);
    if (!this.options.autoTouch || this.closing || periodMs >= this.touchPeriodMs) return;
    this.touchPeriodMs = periodMs;
    clearInterval(this.touchTimer);
    this.touchTimer = setInterval(() => this.touchRunning(), periodMs);
    this.touchTimer.unref();
  }

  /** Changes maxInFlight at run time; 0 pauses delivery. */
  setMaxInFlight(maxInFlight: number): void {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 0) {
      throw new NsqClientError(ClientErrorCode.InvalidOptions, `maxInFlight must be an integer >= 0, got ${maxInFlight}`);
    }
    this.options.maxInFlight = maxInFlight;
    this.rdy.setMaxInFlight(maxInFlight);
    this.checkInFlightWarning();
    this.handlers.runHeld();
  }

  /** Subscribes on one more nsqd, as if given in nsqdTcpAddresses: kept and reconnected until removed. */
  addNsqdAddress(address: string): void {
    if (!this.closing) this.endpoints.add(address, 'direct');
  }

  /**
   * Stops using an nsqd given directly (one lookupd lists stays): no more reconnects, and its
   * connection, if any, drains its messages and closes. Adding it again connects at once.
   */
  async removeNsqdAddress(address: string): Promise<void> {
    const subscription = this.endpoints.remove(address);
    if (subscription !== undefined) await this.retire(subscription);
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
    return this.handlers.running;
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
    this.handlers.deliver(message, subscription);
  }

  onSubscriptionAnswered(message: Message, _subscription: Subscription, kind: AnswerKind, delayMs: number, backoff: boolean): void {
    if (!this.closing) this.backoff.signal(kind === 'finish' ? 'success' : backoff ? 'failure' : 'continue');
    this.rdy.onMessageDone();
    if (kind === 'finish') {
      if (this.hasListeners('finished')) this.emit('finished', message);
    } else if (this.hasListeners('requeued')) {
      this.emit('requeued', message, delayMs, this.handlers.failureInProgress);
    } else if (!this.warnedUnheardFailure && warnUnheardFailure(this.handlers.failureInProgress, message, delayMs, this.options.maxAttempts)) {
      this.warnedUnheardFailure = true;
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
    this.emit('disconnected', subscription.address, this.closing || subscription.closing ? undefined : error); // a close we asked for (CLS) is no failure
    if (fromLookupd && !this.closing) (this.discovery ?? this.poller)?.pollSoon();
  }

  async beforeSubscribe(subscription: Subscription): Promise<void> {
    await this.prepare?.({ tcpAddress: subscription.address, httpAddress: this.endpoints.httpAddressOf(subscription.address) });
  }

  defaultRequeueDelayMs(message: Message): number {
    return Math.min(this.options.requeueDelayMs * message.attempts, this.options.maxRequeueDelayMs);
  }

  /** A held message past its timeout, nsqd's again (overdue-watch.ts): out of the counts, unanswered. */
  private letGo(message: Message, subscription: Subscription): boolean {
    if (!this.handlers.releaseHeld(message)) return false;
    subscription.forget(message);
    this.rdy.onMessageDone();
    return true;
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
    await within(subscription.whenIdle(), this.options.closeTimeoutMs);
    await subscription.connection.end();
  }

  private checkInFlightWarning(): void {
    const below = this.options.maxInFlight > 0 && this.options.maxInFlight < this.rdy.connections.length;
    if (below && !this.warnedBelowConnections) {
      // Said once, as the second connection comes up: count the nsqd still connecting too, so the advice covers them all.
      const n = Math.max(this.rdy.connections.length, this.endpoints.size);
      this.emit('warning', belowConnectionsWarning(this.options.maxInFlight, n, this.options.rdyRedistributeIntervalMs));
    }
    this.warnedBelowConnections = below;
  }

  private async drainAndClose(): Promise<void> {
    this.closing = true;
    this.handlers.stopTaking();
    this.poller?.stop();
    this.discovery?.off('result', this.onSharedResult);
    this.backoff.stop();
    clearInterval(this.redistributeTimer);
    clearInterval(this.touchTimer);
    const openings = this.endpoints.stop();
    const deadline = Date.now() + this.options.closeTimeoutMs;
    const subscriptions = [...this.rdy.connections];
    const closeWaits = Promise.all(subscriptions.map((s) => s.sendClose()));
    if (this.handlers.running > 0) await within(this.handlers.idle(), deadline - Date.now());
    this.overdue.stop(); // only now: a held copy timed out during the drain was let go, not requeued in vain
    this.handlers.dropHeld();
    // Whatever is still unanswered (held ones included) goes back to nsqd now rather than after its msg timeout.
    for (const subscription of subscriptions) {
      for (const message of [...subscription.messages]) message.requeue(0, { backoff: false });
    }
    await within(closeWaits, deadline - Date.now());
    await Promise.all(subscriptions.map((s) => s.connection.end()));
    await openings;
    for (const subscription of subscriptions) this.rdy.remove(subscription);
  }
}
