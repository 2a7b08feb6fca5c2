/**
 * The in-memory part of a backlog: a FIFO of messages, most of them kept as bytes. A published
 * message that has to wait is stored as its record (the 26-byte message header and the body, the
 * payload of a message frame, as the disk queue stores it) in a slab shared with its neighbours; its
 * `BrokerMessage` is made only when it is shifted out to be delivered. A message that already is an
 * object (requeued, timed out, moved from a topic's own backlog) waits as that object, in order
 * with the records: it may carry state a record has no room for (a DPUB delay, sync mode's disk
 * sequence).
 *
 * Why: a backlog of objects is what a generational collector handles worst. Every message outlived
 * two scavenges and was copied twice, an id string and a boxed timestamp with it; building a
 * 1,000,000-message backlog spent a third of its time in scavenges (`--trace-gc` under nsq's
 * bench_writer). Records cost a copy of the body (the MPUB frame is then free to go) and hold no
 * pointer for the collector to follow.
 *
 * Layout of a slab: entries one after another, each an int32 length and then that many bytes of
 * record, or the length OBJECT_ENTRY for the next message of `objects`. SLAB_END (or fewer than 4 bytes left)
 * sends the reader to the next slab. A slab is never written twice: a delivered message's body is a
 * range of its slab, so a slab lives on (only) while a message taken from it does.
 */
import { MESSAGE_HEADER_SIZE } from '../../protocol/message.ts';
import { copyRange } from './copy-range.ts';
import { BrokerMessage } from './message.ts';
import { RingQueue } from './ring-queue.ts';

const OBJECT_ENTRY = -1;
const SLAB_END = -2;
/**
 * Slab sizes, bytes. A queue starts small (a message or two waiting at a time should not keep a
 * large slab alive while it is in flight), and each new slab is twice what waits, up to MAX_SLAB.
 */
const MIN_SLAB = 4096;
const MAX_SLAB = 1 << 20;
/** Bodies larger than this wait as objects over the buffer they came in (one copy is not worth it). */
const MAX_BODY_COPY = 64 * 1024;
/**
 * The same for a body that several queues take (a topic's channels): each would copy it, where
 * objects share it (as nsqd's channels share a body), and past this size the copies cost more
 * memory than the objects (about 200 bytes each) they save.
 */
const MAX_SHARED_BODY_COPY = 512;

export class MemoryQueue {
  /** Slabs with entries still to read; the last is the one written. */
  private readonly slabs = new RingQueue<Buffer>(4);
  private readonly objects = new RingQueue<BrokerMessage>(16);
  private writeSlab: Buffer | undefined;
  private writePos = 0;
  private readPos = 0;
  private count = 0;
  /** Bytes of the entries waiting, for the size of the next slab. */
  private queuedBytes = 0;
  /** Where the entry `take` moved past is: its slab, and the offset of its record. */
  private takenSlab: Buffer | undefined;
  private takenAt = 0;

  /** Messages waiting, records and objects. */
  get length(): number {
    return this.count;
  }

  /** Queues a message object as it is. */
  pushMessage(message: BrokerMessage): void {
    this.reserve(4);
    this.writeSlab!.writeInt32BE(OBJECT_ENTRY, this.writePos);
    this.writePos += 4;
    this.objects.push(message);
    this.count++;
    this.queuedBytes += 4;
  }

  /**
   * Queues the message whose 26-byte header is `header` and whose body is `frame[start, end)`, as
   * bytes copied into a slab; a body too large for that (smaller when `sharedBy` queues take the
   * same body) waits as an object over `frame`.
   */
  pushRecord(header: Buffer, frame: Buffer, start: number, end: number, sharedBy = 1): void {
    if (end - start > (sharedBy > 1 ? MAX_SHARED_BODY_COPY : MAX_BODY_COPY)) return this.pushMessage(BrokerMessage.fromHeader(header, 0, frame, start, end));
    const length = MESSAGE_HEADER_SIZE + end - start;
    this.reserve(4 + length);
    const slab = this.writeSlab!;
    let at = this.writePos;
    slab.writeInt32BE(length, at);
    at += 4;
    slab.set(header, at);
    copyRange(slab, at + MESSAGE_HEADER_SIZE, frame, start, end);
    this.writePos = at + length;
    this.count++;
    this.queuedBytes += 4 + length;
  }

  /** The oldest message, made from its record when it is one; undefined when empty. */
  shift(): BrokerMessage | undefined {
    if (this.count === 0) return undefined;
    const length = this.take();
    if (length === OBJECT_ENTRY) return this.objects.shift();
    const slab = this.takenSlab!;
    const at = this.takenAt;
    this.takenSlab = undefined; // if kept, it would keep the slab alive after the queue let it go
    // The body left where it is in the record (as a disk read's).
    return BrokerMessage.fromHeader(slab, at, slab, at + MESSAGE_HEADER_SIZE, at + length);
  }

  /**
   * Takes every waiting message out, oldest first, and makes no object of a record: each is handed
   * to `onRecord` as `slab[start, end)`, its header and body as the disk queue stores them; each
   * object to `onMessage`. For a clean shutdown. Stops at the first callback that throws.
   */
  drain(onRecord: (slab: Buffer, start: number, end: number) => void, onMessage: (message: BrokerMessage) => void): void {
    try {
      while (this.count > 0) {
        const length = this.take();
        if (length === OBJECT_ENTRY) onMessage(this.objects.shift()!);
        else onRecord(this.takenSlab!, this.takenAt, this.takenAt + length);
      }
    } finally {
      this.takenSlab = undefined;
    }
  }

  /** Drops every waiting message. */
  clear(): void {
    this.slabs.clear();
    this.objects.clear();
    this.writeSlab = undefined;
    this.takenSlab = undefined;
    this.writePos = 0;
    this.readPos = 0;
    this.count = 0;
    this.queuedBytes = 0;
  }

  /** Makes room for `bytes` in the write slab, closing it and starting the next when they do not fit. */
  private reserve(bytes: number): void {
    const slab = this.writeSlab;
    if (slab !== undefined && this.writePos + bytes <= slab.length) return;
    if (slab !== undefined && this.writePos + 4 <= slab.length) slab.writeInt32BE(SLAB_END, this.writePos);
    let size = MIN_SLAB;
    while (size < MAX_SLAB && size < 2 * this.queuedBytes) size *= 2;
    while (size < bytes) size *= 2;
    // Not from Node's shared pool: a slab's memory goes when its last message does.
    const next = Buffer.allocUnsafeSlow(size);
    this.slabs.push(next);
    this.writeSlab = next;
    this.writePos = 0;
    if (slab === undefined) this.readPos = 0;
  }

  /**
   * Moves past the oldest entry (the queue is not empty) and returns its length: OBJECT_ENTRY, or that of
   * the record at `takenSlab[takenAt]`.
   */
  private take(): number {
    let slab = this.slabs.peek()!;
    let pos = this.readPos;
    let length = pos + 4 <= slab.length ? slab.readInt32BE(pos) : SLAB_END;
    if (length === SLAB_END) {
      this.slabs.shift(); // the reader is done with it
      slab = this.slabs.peek()!;
      pos = 0;
      length = slab.readInt32BE(0);
    }
    const size = length === OBJECT_ENTRY ? 0 : length;
    // Only a record's slab is taken note of: an object's would be kept alive for nothing.
    if (size > 0) this.takenSlab = slab;
    this.takenAt = pos + 4;
    if (--this.count === 0 && slab.length > MIN_SLAB) {
      // Emptied: a large slab kept for the next few messages would stay alive for all of its size.
      // The objects ring stays: the entry just taken may be its last object.
      this.slabs.clear();
      this.writeSlab = undefined;
      this.writePos = 0;
      this.readPos = 0;
      this.queuedBytes = 0;
    } else {
      this.readPos = pos + 4 + size;
      this.queuedBytes -= 4 + size;
    }
    return length;
  }
}
