/**
 * A delivered message and the ways to answer it. Exactly one of finish() and requeue() reaches the
 * broker: a second answer returns false instead of sending a command nsqd would reject.
 */
import type { DecodedMessage } from '../protocol/message.ts';
import { checkRequeueDelay } from './errors.ts';

/** Who sends a message's answers: the connection it arrived on. */
export interface MessageResponder {
  finishMessage(message: Message): void;
  requeueMessage(message: Message, delayMs: number | undefined, backoff: boolean): void;
  touchMessage(message: Message): void;
}

export interface RequeueOptions {
  /** Whether this requeue counts as a failure for backoff (default true). */
  backoff?: boolean;
}

export class Message {
  /** The 16-byte id as nsqd sent it (lowercase hex). */
  readonly id: string;
  /** Delivery count: 1 on the first delivery. */
  readonly attempts: number;
  /** When the message was published, in nanoseconds since the Unix epoch (nsqd's unit). */
  readonly timestamp: number;
  /** The body: a view of the received bytes, not a copy. */
  readonly body: Buffer;
  private answered = false;
  private readonly payload: Buffer | undefined;
  /** Its index among its connection's messages in flight (in-flight.ts), -1 when not among them. */
  private inFlightSlot = -1;
  /** The overdue watch's scans that found it in flight since its delivery or last TOUCH (overdue-watch.ts). */
  private inFlightScans = 0;
  private overdueWarned = false;

  constructor(
    decoded: DecodedMessage,
    private readonly responder: MessageResponder,
    /** The nsqd address it came from. */
    readonly nsqdAddress: string,
  ) {
    this.id = decoded.id;
    this.attempts = decoded.attempts;
    this.timestamp = decoded.timestampNs;
    this.body = decoded.body;
    this.payload = decoded.payload;
  }

  /**
   * The publish time exactly as nsqd wrote it, in nanoseconds: `timestamp` is a double, whose last
   * digits are rounded, which matters when the value is passed on (a dead letter, a log) rather than
   * compared. Read from the received bytes on demand, so messages that never ask cost nothing.
   */
  get exactTimestampNs(): bigint {
    return this.payload?.readBigInt64BE(0) ?? BigInt(this.timestamp);
  }

  /** When the message was published, in milliseconds since the Unix epoch. */
  get timestampMs(): number {
    return Math.floor(this.timestamp / 1e6);
  }

  /** Whether finish() or requeue() has been called. */
  get hasResponded(): boolean {
    return this.answered;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON. The type is the caller's claim: validate it if the sender is not trusted. */
  json<T = unknown>(): T {
    return JSON.parse(this.body.toString('utf8')) as T;
  }

  /** Acknowledges the message (FIN). Returns false if it was already answered. */
  finish(): boolean {
    if (this.answered) return false;
    this.answered = true;
    this.responder.finishMessage(this);
    return true;
  }

  /**
   * Gives the message back for redelivery (REQ) after `delayMs` (default: the consumer's requeue
   * delay × attempts). Returns false if it was already answered.
   */
  requeue(delayMs?: number, options?: RequeueOptions): boolean {
    checkRequeueDelay(delayMs, 'requeue delay');
    if (this.answered) return false;
    this.answered = true;
    this.responder.requeueMessage(this, delayMs, options?.backoff ?? true);
    return true;
  }

  /** Resets the message's in-flight timeout (TOUCH). Returns false once the message is answered. */
  touch(): boolean {
    if (this.answered) return false;
    this.inFlightScans = 0;
    this.responder.touchMessage(this);
    return true;
  }
}
