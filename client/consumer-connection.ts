/**
 * A consumer's subscription on one nsqd: the connection, its RDY state and the messages in flight
 * on it. Messages answer through it (FIN/REQ/TOUCH are batched per tick by the connection), and it
 * reports to the consumer through the narrow {@link SubscriptionOwner} interface.
 */
import { encodeRdy, encodeSub } from '../protocol/commands.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { decodeMessagePayload } from '../protocol/message.ts';
import { NsqConnection, type ConnectionDelegate } from './connection.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';
import { InFlightMessages } from './in-flight.ts';
import { Message, type MessageResponder } from './message.ts';
import type { ConnectionOptions } from './options.ts';
import type { RdyConnection } from './rdy.ts';

export type AnswerKind = 'finish' | 'requeue';

/** What a subscription needs from its consumer. */
export interface SubscriptionOwner {
  onSubscriptionMessage(message: Message, subscription: Subscription): void;
  onSubscriptionAnswered(message: Message, subscription: Subscription, kind: AnswerKind, delayMs: number, backoff: boolean): void;
  onSubscriptionError(error: Error, subscription: Subscription): void;
  onSubscriptionClosed(subscription: Subscription, error: Error | undefined): void;
  /** The delay for a requeue without one: requeue delay × attempts, capped. */
  defaultRequeueDelayMs(message: Message): number;
  /** Runs after the handshake and before SUB; a rejection fails this attempt (it is retried). */
  beforeSubscribe(subscription: Subscription): Promise<void>;
}

const CLOSE_WAIT = Buffer.from('CLOSE_WAIT');
const OK = Buffer.from('OK');

export class Subscription implements RdyConnection, ConnectionDelegate, MessageResponder {
  rdy = 0;
  rdyGrantedAt = 0;
  inFlight = 0;
  lastMessageAt = 0;
  /** Messages delivered and not answered, for autoTouch and for requeueing what is left at close. */
  readonly messages = new InFlightMessages();
  /** CLS sent: no new work is taken on this connection. */
  closing = false;
  readonly connection: NsqConnection;
  private closeWaitResolve: (() => void) | undefined;
  /** SUB's answer while open() waits for it: OK settles it; an error frame or a close fails it. */
  private subAnswer: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** How long SUB's answer may take, ms: the connect timeout (connectTimeoutMs). */
  private readonly subTimeoutMs: number;
  /** SUB answered OK: only then does a close count as a disconnection. */
  private opened = false;
  private idleResolve: (() => void) | undefined;
  private readonly closeWait: Promise<void>;

  constructor(
    readonly address: string,
    private readonly topic: string,
    private readonly channel: string,
    options: ConnectionOptions,
    private readonly owner: SubscriptionOwner,
  ) {
    this.connection = new NsqConnection(address, options, this);
    this.subTimeoutMs = options.connectTimeoutMs;
    this.closeWait = new Promise((resolve) => (this.closeWaitResolve = resolve));
  }

  get maxRdyCount(): number {
    return this.connection.identity.maxRdyCount;
  }

  /** Its nsqd's message timeout for this connection (IDENTIFY's msg_timeout), ms. */
  get msgTimeoutMs(): number {
    return this.connection.identity.msgTimeoutMs;
  }

  /**
   * Connects, identifies and subscribes; resolves on SUB's OK. nsqd refuses a SUB with an error and
   * a close (TLS required, E_UNAUTHORIZED for the AUTH secret, a bad name): that fails the attempt,
   * retried with backoff like a failed connect, and the consumer never counts it as connected.
   */
  async open(): Promise<void> {
    await this.connection.connect();
    try {
      await this.owner.beforeSubscribe(this);
    } catch (error) {
      this.connection.destroy();
      throw error;
    }
    // Lost while beforeSubscribe ran (the runner creates the channel over HTTP): SUB would go nowhere.
    if (this.connection.closed) throw new NsqClientError(ClientErrorCode.ConnectionClosed, `${this.address} closed the connection before SUB`);
    const answered = new Promise<void>((resolve, reject) => (this.subAnswer = { resolve, reject }));
    this.connection.write(encodeSub(this.topic, this.channel));
    // Bounded as the connect is: a peer that never answers (a proxy, a partition) fails the attempt,
    // and a close() waiting on the opening is not held by it.
    const timer = setTimeout(() => {
      const timedOut = new NsqClientError(ClientErrorCode.ConnectTimeout, `${this.address} did not answer SUB within ${this.subTimeoutMs}ms`);
      if (this.answerSub(timedOut)) this.connection.destroy();
    }, this.subTimeoutMs);
    try {
      await answered;
    } finally {
      clearTimeout(timer);
    }
    this.opened = true;
  }

  /** Settles open()'s wait for SUB's answer; false when it was not waiting. */
  private answerSub(error: Error | undefined): boolean {
    const waiting = this.subAnswer;
    if (waiting === undefined) return false;
    this.subAnswer = undefined;
    if (error === undefined) waiting.resolve();
    else waiting.reject(error);
    return true;
  }

  sendRdy(count: number): void {
    if (!this.closing) this.connection.write(encodeRdy(count));
  }

  /** Sends CLS and resolves when nsqd answers CLOSE_WAIT or the connection is gone. */
  sendClose(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (!this.connection.sendCls()) this.closeWaitResolve?.();
    }
    return Promise.race([this.closeWait, this.connection.whenClosed()]);
  }

  /** Resolves when no message is in flight here (or the connection is gone). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 || this.connection.closed) return Promise.resolve();
    return Promise.race([new Promise<void>((resolve) => (this.idleResolve = resolve)), this.connection.whenClosed()]);
  }

  // ConnectionDelegate

  onMessage(payload: Buffer): void {
    const message = new Message(decodeMessagePayload(payload), this, this.address);
    this.inFlight++;
    this.messages.add(message);
    this.lastMessageAt = this.connection.lastReadAt;
    this.owner.onSubscriptionMessage(message, this);
  }

  onResponse(data: Buffer): void {
    if (data.equals(OK) && this.answerSub(undefined)) return;
    if (data.equals(CLOSE_WAIT)) this.closeWaitResolve?.();
  }

  onProtocolError(error: ProtocolError): void {
    // A refused SUB is the failed attempt's error, said once by the consumer's reconnect path.
    if (!this.answerSub(error)) this.owner.onSubscriptionError(error, this);
  }

  onClose(error: Error | undefined): void {
    this.closeWaitResolve?.();
    // Never counted as connected: its failed opening is the whole story, not a disconnection too.
    if (!this.opened) {
      this.answerSub(error ?? new NsqClientError(ClientErrorCode.ConnectionClosed, `${this.address} closed the connection before answering SUB`));
      return;
    }
    this.owner.onSubscriptionClosed(this, error);
  }

  // MessageResponder

  finishMessage(message: Message): void {
    this.connection.queueFin(message.id);
    this.settle(message, 'finish', 0, false);
  }

  requeueMessage(message: Message, delayMs: number | undefined, backoff: boolean): void {
    const delay = delayMs ?? this.owner.defaultRequeueDelayMs(message);
    this.connection.queueReq(message.id, delay);
    this.settle(message, 'requeue', delay, backoff);
  }

  touchMessage(message: Message): void {
    this.connection.queueTouch(message.id);
  }

  /**
   * Takes out, unanswered, a message nsqd has taken back (timed out before its handler started):
   * nothing is sent, and the owner is told nothing but what the caller tells it.
   */
  forget(message: Message): void {
    if (!this.messages.delete(message)) return;
    this.inFlight--;
    this.resolveIfIdle();
  }

  private settle(message: Message, kind: AnswerKind, delayMs: number, backoff: boolean): void {
    // A message answered after its connection died is nsqd's to redeliver; the counts were reset then.
    if (!this.messages.delete(message)) return;
    this.inFlight--;
    this.owner.onSubscriptionAnswered(message, this, kind, delayMs, backoff);
    this.resolveIfIdle();
  }

  private resolveIfIdle(): void {
    if (this.inFlight === 0 && this.idleResolve !== undefined) {
      this.idleResolve();
      this.idleResolve = undefined;
    }
  }
}
