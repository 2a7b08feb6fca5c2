/**
 * A message as one channel holds it. The body is shared between the copies a topic hands to its
 * channels (it is never mutated); everything else is per channel, because each channel tracks its
 * own delivery, attempts and deadlines.
 *
 * The body is a range of a buffer it shares, not a view of its own: an MPUB's messages all point
 * into its frame, and a message read from disk into its record. A view per message was a third of
 * a waiting message's bytes, and most of the garbage collection while a backlog built up in
 * memory (`npm run bench publish-path`, 1,000,000 messages in MPUBs of 200 into a memory queue,
 * five runs alternating with the commit before: 980–1,222 ns of CPU a message, against
 * 1,454–1,819 with a view each).
 */
import { MESSAGE_ATTEMPTS_OFFSET, MESSAGE_HEADER_SIZE, MESSAGE_ID_OFFSET, readMessageId, readTimestamp, writeMessageHeader, writeMessageHeaderHex, type TimestampNs } from '../../protocol/message.ts';
import { emptyMessageKey, hexIdText, keyOfText, parseHexId } from '../../protocol/message-id-hex.ts';
import { copyRange } from './copy-range.ts';

/**
 * How much more than its body (twice its size, plus this) a deferred message may keep alive: above
 * Node's 8 KiB pool, whose slabs small buffers share anyway, below a socket read or an MPUB frame.
 */
const SHARED_SLACK_BYTES = 8192;

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
  /**
   * Its 26-byte header (as it was read: the attempts may be old) sits in `source` just before the
   * body, as in a record of a memory queue's slab or a disk queue: {@link writePayload} copies it
   * with the body instead of writing it afresh.
   */
  headerInSource = false;

  /**
   * The id is `idHigh` and `idLow`, its 16 lowercase hex digits as two int32 halves
   * (protocol/message-id-hex.ts), or, for an id that is not hex (a record the broker did not
   * write), `idText` with both halves 0. The body is `source[bodyStart, bodyEnd)`, by default all
   * of `source`. `source` is never written to, by the message or anyone holding it.
   */
  constructor(
    readonly idHigh: number,
    readonly idLow: number,
    readonly idText: string | undefined,
    readonly timestampNs: TimestampNs,
    public source: Buffer,
    attempts = 0,
    public bodyStart = 0,
    public bodyEnd: number = source.length,
  ) {
    this.attempts = attempts;
  }

  /** A message with this id (16 bytes as latin1 text), kept as its halves when it is hex. */
  static withId(id: string, timestampNs: TimestampNs, source: Buffer, attempts = 0, bodyStart = 0, bodyEnd: number = source.length): BrokerMessage {
    const key = keyOfText(id, scratchKey);
    return new BrokerMessage(key.high, key.low, key.text, timestampNs, source, attempts, bodyStart, bodyEnd);
  }

  /**
   * The message whose 26-byte header (timestamp, attempts, id: protocol/message.ts) is at
   * `header[at]` and whose body is `source[bodyStart, bodyEnd)`: a record of a disk queue or a
   * memory queue's slab (header and body in one buffer), or a header made apart from its MPUB frame.
   * Throws RangeError when the header is not all inside `header`.
   */
  static fromHeader(header: Buffer, at: number, source: Buffer, bodyStart: number, bodyEnd: number): BrokerMessage {
    const attempts = header.readUInt16BE(at + MESSAGE_ATTEMPTS_OFFSET);
    const timestampNs = readTimestamp(header, at);
    const message = parseHexId(header, at + MESSAGE_ID_OFFSET, scratchKey)
      ? new BrokerMessage(scratchKey.high, scratchKey.low, undefined, timestampNs, source, attempts, bodyStart, bodyEnd)
      : new BrokerMessage(0, 0, readMessageId(header, at + MESSAGE_ID_OFFSET), timestampNs, source, attempts, bodyStart, bodyEnd);
    message.headerInSource = header === source && at + MESSAGE_HEADER_SIZE === bodyStart;
    return message;
  }

  /** The id as text, 16 bytes as latin1 (made at each call: the hot paths use the halves). */
  get id(): string {
    return this.idText ?? hexIdText(this.idHigh, this.idLow);
  }

  /**
   * Writes the message's payload, its 26-byte header and its body, at `target[offset]`; returns
   * where it ends. A header already in `source` is copied with the body in one go and its attempts
   * set (the bytes of the id and the timestamp are the message's own), which halves the work of a
   * delivery from a record. The caller keeps the payload inside `target`.
   */
  writePayload(target: Buffer, offset: number): number {
    const attempts = this.attempts;
    if (this.headerInSource) {
      copyRange(target, offset, this.source, this.bodyStart - MESSAGE_HEADER_SIZE, this.bodyEnd);
      target[offset + MESSAGE_ATTEMPTS_OFFSET] = attempts >>> 8;
      target[offset + MESSAGE_ATTEMPTS_OFFSET + 1] = attempts;
      return offset + MESSAGE_HEADER_SIZE + this.bodyEnd - this.bodyStart;
    }
    const at = this.writeHeader(target, offset);
    copyRange(target, at, this.source, this.bodyStart, this.bodyEnd);
    return at + this.bodyEnd - this.bodyStart;
  }

  /** Writes the message's 26-byte header at `target[offset]`; returns where the body goes. Throws RangeError when it does not fit. */
  writeHeader(target: Buffer, offset: number): number {
    if (this.idText !== undefined) return writeMessageHeader(target, offset, this.timestampNs, this.attempts, this.idText);
    return writeMessageHeaderHex(target, offset, this.timestampNs, this.attempts, this.idHigh, this.idLow);
  }

  /**
   * Gives the body memory of its own when the memory it shares is much larger (a small message of a
   * big MPUB, or a PUB's slice of its socket read): for a message kept long, deferred, which would
   * otherwise keep all of that alive. nsqd gives every body its own allocation (readMPUB).
   */
  ownBody(): void {
    const length = this.bodyEnd - this.bodyStart;
    // The memory kept alive is the whole ArrayBuffer under the view, not just `source`.
    if (this.source.buffer.byteLength <= 2 * length + SHARED_SLACK_BYTES) return;
    // Not Buffer.from: a small one would be a slice of Node's shared 8 KiB pool.
    const own = Buffer.allocUnsafeSlow(length);
    copyRange(own, 0, this.source, this.bodyStart, this.bodyEnd);
    this.source = own;
    this.bodyStart = 0;
    this.bodyEnd = length;
    this.headerInSource = false;
  }

  /** The body as a view of `source` (made at each call: the hot paths use the range itself). */
  get body(): Buffer {
    return this.source.subarray(this.bodyStart, this.bodyEnd);
  }

  /** The body's size in bytes. */
  get bodyLength(): number {
    return this.bodyEnd - this.bodyStart;
  }

  /** A fresh copy for another channel: same id, timestamp and body, its own delivery state. */
  copy(): BrokerMessage {
    const copy = new BrokerMessage(this.idHigh, this.idLow, this.idText, this.timestampNs, this.source, this.attempts, this.bodyStart, this.bodyEnd);
    copy.headerInSource = this.headerInSource;
    return copy;
  }
}

/** Where fromHeader and withId parse an id (read at once). */
const scratchKey = emptyMessageKey();
