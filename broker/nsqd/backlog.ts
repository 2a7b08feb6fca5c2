/**
 * The messages waiting at a topic or channel: up to `memQueueSize` in memory, the rest in a disk
 * queue. Once anything is on disk, new messages go to disk too until it drains, so delivery stays
 * in publish order and memory stays bounded however deep the backlog grows. Ephemeral queues have
 * no disk: what does not fit in memory is dropped, as nsqd does.
 */
import { MESSAGE_HEADER_SIZE, checkMessagePayload } from '../../protocol/message.ts';
import { DiskQueue, type DiskQueueOptions } from './disk-queue.ts';
import { BrokerMessage } from './message.ts';
import { MemoryQueue } from './memory-queue.ts';

/** The broker's health as disk writes see it (nsqd's SetHealth after every backend write). */
export interface DiskHealth {
  readonly healthy: boolean;
  diskWriteFailed(error: unknown): void;
  diskWriteSucceeded(): void;
}

export interface BacklogOptions {
  memQueueSize: number;
  /** Absent for ephemeral topics and channels. */
  disk: DiskQueueOptions | undefined;
  /** Told when a disk write fails, and when one succeeds while unhealthy. */
  health?: DiskHealth;
}

const EMPTY = Buffer.alloc(0);

export class Backlog {
  private readonly memory = new MemoryQueue();
  private readonly disk: DiskQueue | undefined;

  /** Sync mode: a message read from disk stays there until `release` (see disk-queue-acks.ts). */
  readonly durable: boolean;
  /** Where a record's 26-byte message header is made before it is appended with the body. */
  private readonly header = Buffer.allocUnsafe(MESSAGE_HEADER_SIZE);

  constructor(private readonly options: BacklogOptions) {
    this.disk = options.disk === undefined ? undefined : DiskQueue.open(options.disk);
    this.durable = this.disk !== undefined && options.disk?.ackReads === true;
  }

  get depth(): number {
    return this.memory.length + (this.disk?.depth ?? 0);
  }

  get backendDepth(): number {
    return this.disk?.depth ?? 0;
  }

  /**
   * Queues a message and never loses it: when the disk write fails, the broker turns unhealthy and
   * the message stays in memory past mem-queue-size. For the broker's own moves (topic to channel,
   * requeue, timeout), which run in timers and socket handlers where a throw would bring the whole
   * process down. Returns whether it went to disk, or to memory within mem-queue-size (false: it
   * sits in memory only because the disk failed; in sync mode its old record must then be kept).
   */
  put(message: BrokerMessage): boolean {
    if (this.tryPut(message)) return true;
    this.memory.pushMessage(message);
    return false;
  }

  /**
   * Sync mode: the message is finished, or durably stored elsewhere; the record it was read from
   * may be passed by the saved read position. Does nothing for a message not read from this disk.
   */
  release(message: BrokerMessage): void {
    if (message.diskSeq < 0) return;
    this.ack(message.diskSeq);
    message.diskSeq = -1;
  }

  /** Sync mode: the record `seq` of this queue's disk is done with (negative: none). */
  ack(seq: number): void {
    if (seq >= 0) this.disk?.ack(seq);
  }

  /** Queues a published message, or throws the disk error with nothing queued (nsqd's E_PUB_FAILED). */
  putOrThrow(message: BrokerMessage): void {
    if (!this.tryPut(message)) throw this.lastDiskError;
  }

  /** A write that belongs with this queue (its channel's journal) failed: the broker turns unhealthy. */
  reportDiskFailure(error: unknown): void {
    this.lastDiskError = error;
    this.options.health?.diskWriteFailed(error);
  }

  /** The error of the last failed disk write. */
  get lastError(): unknown {
    return this.lastDiskError;
  }

  private lastDiskError: unknown;

  /**
   * Whether a publish may be handed over as its record, with {@link putRecord}: not in sync mode,
   * where a publish whose write fails must be refused (E_MPUB_FAILED, Topic.put), while putRecord
   * keeps such a message in memory and the publisher would be told OK for a message no disk holds.
   */
  get takesRecords(): boolean {
    return !this.durable;
  }

  /**
   * Queues a published message given as its record, `header` (its 26 bytes) followed by the body
   * `frame[start, end)`, with no message object made: into the memory queue while it has room and
   * nothing is on disk (`sharedBy`: how many queues take the same body, see MemoryQueue.pushRecord),
   * else appended to the disk queue (dropped by an ephemeral queue, as nsqd drops). When the disk
   * write fails, the broker turns unhealthy and the message is kept in memory past mem-queue-size,
   * as `put` keeps one. For a backlog that {@link takesRecords}.
   */
  putRecord(header: Buffer, frame: Buffer, start: number, end: number, sharedBy: number): void {
    if (!this.memoryHasRoom) {
      const disk = this.disk;
      if (disk === undefined || this.recordOnDisk(disk, header, frame, start, end)) return;
    }
    this.memory.pushRecord(header, frame, start, end, sharedBy);
  }

  /** Below mem-queue-size with nothing on disk: a new message waits in memory (keeping publish order). */
  private get memoryHasRoom(): boolean {
    const disk = this.disk;
    return this.memory.length < this.options.memQueueSize && (disk === undefined || disk.depth === 0);
  }

  private tryPut(message: BrokerMessage): boolean {
    const disk = this.disk;
    if (this.memoryHasRoom) {
      this.memory.pushMessage(message);
      return true;
    }
    // An ephemeral queue has no disk: past mem-queue-size a message is dropped, as nsqd does.
    if (disk === undefined) return true;
    return this.recordOnDisk(disk, this.headerOf(message), message.source, message.bodyStart, message.bodyEnd);
  }

  private recordOnDisk(disk: DiskQueue, header: Buffer, body: Buffer, start: number, end: number): boolean {
    const health = this.options.health;
    try {
      disk.put(header, body, start, end);
    } catch (error) {
      // As nsqd: a failed backend write makes the broker unhealthy (/ping 500).
      this.lastDiskError = error;
      health?.diskWriteFailed(error);
      return false;
    }
    if (health !== undefined && !health.healthy) health.diskWriteSucceeded();
    return true;
  }

  /** The message's record: its header made in one scratch buffer, then header and body appended as one; throws. */
  private writeToDisk(disk: DiskQueue, message: BrokerMessage): void {
    disk.put(this.headerOf(message), message.source, message.bodyStart, message.bodyEnd);
  }

  /** The message's 26-byte header, made in the one scratch buffer (valid until the next call). */
  private headerOf(message: BrokerMessage): Buffer {
    message.writeHeader(this.header, 0);
    return this.header;
  }

  shift(): BrokerMessage | undefined {
    const fromMemory = this.memory.shift();
    if (fromMemory !== undefined || this.disk === undefined || this.disk.depth === 0) return fromMemory;
    if (!this.disk.readNextRange()) return undefined;
    const { source, start, end } = this.disk.lastRecord;
    if (end - start < MESSAGE_HEADER_SIZE) checkMessagePayload(source.subarray(start, end));
    // The fields straight from the record, and the body left where it is in it.
    const message = BrokerMessage.fromHeader(source, start, source, start + MESSAGE_HEADER_SIZE, end);
    if (this.durable) message.diskSeq = this.disk.lastReadSeq;
    return message;
  }

  /** Drops every waiting message, in memory and on disk. */
  empty(): void {
    this.memory.clear();
    this.disk?.empty();
  }

  /**
   * Clean shutdown: writes what is in memory, and the given extra messages (in flight, or deferred
   * without a due-time store), to disk, then closes the disk queue. Ephemeral backlogs just close.
   */
  persistAndClose(extra: readonly BrokerMessage[] = []): void {
    const disk = this.disk;
    if (disk !== undefined) {
      // A disk that fails now costs this queue's unwritten messages, not the shutdown: the other
      // queues and nsqd.dat must still be saved, so the error is reported (health, log) and not thrown.
      try {
        // Records as they are: no message object is made for a message that is only written.
        this.memory.drain(
          (slab, start, end) => disk.put(EMPTY, slab, start, end),
          (message) => {
            this.writeToDisk(disk, message);
            this.release(message);
          },
        );
        for (const message of extra) {
          this.writeToDisk(disk, message);
          // Sync mode: now at the end of the queue, its old record need not be delivered again.
          this.release(message);
        }
      } catch (error) {
        this.options.health?.diskWriteFailed(error);
      }
      try {
        disk.close();
      } catch (error) {
        this.options.health?.diskWriteFailed(error);
      }
    }
    this.memory.clear();
  }

  /** Topic or channel deleted: removes its files. */
  deleteFiles(): void {
    this.memory.clear();
    this.disk?.deleteFiles();
  }
}
