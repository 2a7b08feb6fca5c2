/** How a {@link DiskQueue} is set up: its files, record limits and sync policy (go-diskqueue's, plus sync mode's). */
import type { DiskQueueLogger } from './disk-queue-logger.ts';
import type { PayloadCheck } from './disk-queue-resync.ts';
import type { GroupCommit } from './group-commit.ts';

export interface DiskQueueOptions {
  /** Queue name: a topic name, or `<topic>:<channel>`. Opaque here. */
  name: string;
  /** Directory holding the queue's files. */
  dataPath: string;
  /** A new data file is started when the next record would pass this size (nsqd: 104857600). */
  maxBytesPerFile: number;
  /** Smallest valid record payload, in bytes (nsqd: 26). */
  minMsgSize: number;
  /** Largest valid record payload, in bytes (nsqd: max-msg-size + 26). */
  maxMsgSize: number;
  /** fsync + metadata after this many reads+writes (nsqd: 2500); 1 makes every put durable. */
  syncEvery: number;
  /** fsync + metadata after this long when there was activity (nsqd: 2000). */
  syncTimeoutMs: number;
  logger?: DiskQueueLogger;
  /** With `syncEvery <= 1`: fsyncs batched per event-loop turn (group-commit.ts). Default: one per put. */
  groupCommit?: GroupCommit;
  /** Sync mode: the saved read position passes only `ack()`ed records (needs groupCommit). Default: false. */
  ackReads?: boolean;
  /** Tells a payload from garbage, to resume past a damaged record (disk-queue-resync.ts). Default: lengths only. */
  recordCheck?: PayloadCheck;
}
