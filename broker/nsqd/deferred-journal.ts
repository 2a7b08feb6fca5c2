/**
 * Sync mode: a channel's deferred messages (DPUB, REQ with a delay) in an append-only journal,
 * `<data-path>/<topic>:<channel>.deferred.log`, so they survive `kill -9` with their due times.
 * nsqd keeps them in memory only (it loses them in a crash); nsqd v1.3.0 ignores this file.
 *
 * Records: `[uint32 BE length][uint32 BE crc32][body]`, body `[uint8 type][float64 seq]...`:
 * - ADD (1): `[float64 dueAtMs][message payload]` (the disk queue's 26+N byte message encoding);
 * - DONE (2): `[16-byte id]`: the message left the deferred state (it is in the queue, durably).
 * `seq` grows with every record; replay keeps, per id, the record with the highest seq. A DONE is
 * only written at the group commit's journal phase, after the queue copy it vouches for was fsynced
 * (phase 1), while an ADD is written at once (a full disk fails the DPUB at once) — so they can land
 * out of order in the file, and seq, not position, says which came last.
 *
 * An ADD is fsynced by the group commit before the DPUB is answered, or before the requeued
 * message's old queue record may be passed. The file is rewritten with only the live messages when
 * it is opened, and when it has grown to four times their size; it is cut to nothing when empty.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeMessagePayload, encodeMessagePayload } from '../../protocol/message.ts';
import type { BacklogOptions } from './backlog.ts';
import { syncDirectory, writeFully } from './disk-queue-files.ts';
import type { DiskQueueLogger } from './disk-queue-logger.ts';
import { CommitPhase, type Committable, type GroupCommit } from './group-commit.ts';
import { deadlineFromEpochMs, deadlineToEpochMs } from './deadline-clock.ts';
import { BrokerMessage } from './message.ts';

const ADD = 1;
const DONE = 2;
const HEADER = 8;
const ADD_FIXED = 1 + 8 + 8;
const DONE_BODY = 1 + 8 + 16;
const COMPACT_MIN_BYTES = 1 << 20;

export interface DeferredJournalOptions {
  dataPath: string;
  /** The channel's queue name, `<topic>:<channel>`. */
  queueName: string;
  groupCommit: GroupCommit;
  log: DiskQueueLogger;
}

export interface RestoredDeferred {
  message: BrokerMessage;
  dueAtMs: number;
}

export class DeferredJournal implements Committable {
  private fd: number;
  private size = 0;
  private nextSeq = 1;
  /** Deferred messages recorded and not done, by id: what a compaction writes. */
  private readonly live = new Map<string, BrokerMessage>();
  private liveBytes = 0;
  private pendingDone = Buffer.allocUnsafe(0);
  private pendingLength = 0;
  private broken: unknown;
  private closed = false;
  private created = false;

  private constructor(
    private readonly path: string,
    private readonly options: DeferredJournalOptions,
  ) {
    this.fd = -1;
  }

  /** Opens (replaying and compacting) the channel's journal; returns it and the messages it held. */
  static open(options: DeferredJournalOptions): { journal: DeferredJournal; restored: RestoredDeferred[] } {
    const path = join(options.dataPath, `${options.queueName}.deferred.log`);
    const journal = new DeferredJournal(path, options);
    if (!existsSync(path)) return { journal, restored: [] };
    const restored = replay(path, options.log);
    for (const { message, dueAtMs } of restored) {
      message.dueAtMs = dueAtMs;
      message.journaled = true;
      journal.track(message);
    }
    journal.rewrite();
    return { journal, restored };
  }

  /** Records a deferred message (`message.dueAtMs` is its due time). Throws when it cannot be written. */
  add(message: BrokerMessage): void {
    if (this.broken !== undefined) throw new Error(`deferred journal ${this.path} failed an fsync; writes refused until restart`);
    const record = addRecord(this.nextSeq, message);
    try {
      if (this.fd < 0) this.create();
      writeFully(this.fd, record, 0, record.length, this.size);
    } catch (error) {
      this.cutBack();
      throw error;
    }
    this.nextSeq++;
    this.size += record.length;
    if (!message.journaled) this.track(message);
    message.journaled = true;
    this.options.groupCommit.markDirty(this, CommitPhase.Journal);
  }

  /** The message left the deferred state durably (or was finished); written at the next commit. */
  done(message: BrokerMessage): void {
    if (!message.journaled) return;
    message.journaled = false;
    if (!this.live.delete(message.id)) return;
    this.liveBytes -= HEADER + ADD_FIXED + 26 + message.bodyLength;
    const need = this.pendingLength + HEADER + DONE_BODY;
    if (need > this.pendingDone.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.pendingDone.length * 2, 1024));
      this.pendingDone.copy(grown, 0, 0, this.pendingLength);
      this.pendingDone = grown;
    }
    const at = this.pendingLength;
    const record = this.pendingDone.subarray(at, need);
    record[HEADER] = DONE;
    record.writeDoubleBE(this.nextSeq++, HEADER + 1);
    record.write(message.id, HEADER + 9, 16, 'latin1');
    seal(record, record.length);
    this.pendingLength = need;
    this.options.groupCommit.markDirty(this, CommitPhase.Journal);
  }

  /** The journal phase: DONE records written, everything fsynced, the file cut or compacted. */
  commit(phase: CommitPhase): void {
    if (phase !== CommitPhase.Journal || this.closed || this.fd < 0) return;
    if (this.pendingLength > 0) {
      try {
        writeFully(this.fd, this.pendingDone, 0, this.pendingLength, this.size);
        this.size += this.pendingLength;
        this.pendingLength = 0;
      } catch (error) {
        // A full disk: DONE records only prevent duplicates; they wait for the next commit.
        this.cutBack();
        this.options.log.error({ file: this.path, err: error }, 'deferred journal could not write its done records; retrying at the next commit');
      }
    }
    try {
      if (this.live.size === 0 && this.size > 0) {
        ftruncateSync(this.fd, 0);
        this.size = 0;
      }
      fsyncSync(this.fd);
      if (this.created) {
        // A new file's name must be on disk too before a record in it is claimed durable.
        syncDirectory(dirname(this.path));
        this.created = false;
      }
      if (this.size > COMPACT_MIN_BYTES && this.size > 4 * this.liveBytes) this.rewrite();
    } catch (error) {
      this.broken = error;
      this.options.log.error({ file: this.path, err: error }, 'deferred journal fsync failed; refusing writes until restart');
      throw error;
    }
  }

  /** The channel was emptied: nothing is deferred any more. */
  clear(): void {
    for (const message of this.live.values()) message.journaled = false;
    this.live.clear();
    this.liveBytes = 0;
    this.pendingLength = 0;
    this.options.groupCommit.markDirty(this, CommitPhase.Journal);
  }

  /** Clean shutdown: pending records written and fsynced; the file stays for the next start. */
  close(): void {
    if (this.closed) return;
    try {
      this.commit(CommitPhase.Journal);
    } finally {
      this.closed = true;
      this.options.groupCommit.forget(this);
      if (this.fd >= 0) closeSync(this.fd);
    }
  }

  /** The channel was deleted: the journal goes with it. */
  deleteFile(): void {
    if (!this.closed) {
      this.closed = true;
      this.options.groupCommit.forget(this);
      if (this.fd >= 0) closeSync(this.fd);
    }
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  private create(): void {
    this.fd = openSync(this.path, 'w+', 0o600);
    this.created = true;
  }

  private track(message: BrokerMessage): void {
    this.live.set(message.id, message);
    this.liveBytes += HEADER + ADD_FIXED + 26 + message.bodyLength;
  }

  /** A failed append may have left part of a record: cut the file back to its last whole record. */
  private cutBack(): void {
    try {
      ftruncateSync(this.fd, this.size);
    } catch {
      // Replay stops at a torn record anyway; the next append overwrites it.
    }
  }

  /** Replaces the file with the live messages only: temp file, fsync, rename, directory fsync. */
  private rewrite(): void {
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    let size = 0;
    let seq = 1;
    try {
      for (const message of this.live.values()) {
        const record = addRecord(seq++, message);
        writeFully(fd, record, 0, record.length, size);
        size += record.length;
      }
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    renameSync(temp, this.path);
    syncDirectory(dirname(this.path));
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = fd;
    this.size = size;
    this.nextSeq = seq;
  }
}

/** Sync mode: the journal of the channel whose backlog has these options (undefined without a disk). */
export function openJournalFor(backlog: BacklogOptions): { journal: DeferredJournal; restored: RestoredDeferred[] } | undefined {
  const disk = backlog.disk;
  if (disk?.groupCommit === undefined) return undefined;
  const log = disk.logger ?? { warn() {}, error() {} };
  return DeferredJournal.open({ dataPath: disk.dataPath, queueName: disk.name, groupCommit: disk.groupCommit, log });
}

/** Fills in the length and crc32 of a record whose body is in place. */
/** An ADD record (see the top of this file), sealed: its due time written as ms since the epoch. */
function addRecord(seq: number, message: BrokerMessage): Buffer {
  const payload = encodeMessagePayload(message.timestampNs, message.attempts, message.id, message.body);
  const record = Buffer.allocUnsafe(HEADER + ADD_FIXED + payload.length);
  record[HEADER] = ADD;
  record.writeDoubleBE(seq, HEADER + 1);
  record.writeDoubleBE(deadlineToEpochMs(message.dueAtMs), HEADER + 9);
  payload.copy(record, HEADER + ADD_FIXED);
  seal(record, record.length);
  return record;
}

function seal(record: Buffer, length: number): void {
  record.writeUInt32BE(length - HEADER, 0);
  record.writeUInt32BE(crc32(record.subarray(HEADER, length)), 4);
}

/** The live messages of a journal file: the last record per id wins, by seq. A torn or bad record ends it. */
function replay(path: string, log: DiskQueueLogger): RestoredDeferred[] {
  const data = readFileSync(path);
  const latest = new Map<string, { seq: number; entry: RestoredDeferred | undefined }>();
  let offset = 0;
  let records = 0;
  while (data.length - offset >= HEADER) {
    const length = data.readUInt32BE(offset);
    const end = offset + HEADER + length;
    if (length < DONE_BODY || end > data.length) break;
    const body = data.subarray(offset + HEADER, end);
    if (crc32(body) !== data.readUInt32BE(offset + 4)) break;
    const type = body[0];
    const seq = body.readDoubleBE(1);
    if (type === ADD && length >= ADD_FIXED + 26) {
      const decoded = decodeMessagePayload(body.subarray(ADD_FIXED));
      const message = BrokerMessage.withId(decoded.id, decoded.timestampNs, Buffer.from(decoded.body), decoded.attempts);
      const previous = latest.get(decoded.id);
      if (previous === undefined || previous.seq < seq) latest.set(decoded.id, { seq, entry: { message, dueAtMs: deadlineFromEpochMs(body.readDoubleBE(9)) } });
    } else if (type === DONE && length === DONE_BODY) {
      const id = body.toString('latin1', 9, 25);
      const previous = latest.get(id);
      if (previous === undefined || previous.seq < seq) latest.set(id, { seq, entry: undefined });
    } else {
      break;
    }
    records++;
    offset = end;
  }
  if (offset < data.length) {
    log.warn(
      { file: path, records, keptBytes: offset, skippedBytes: data.length - offset },
      'deferred journal: a torn or damaged record; the records before it are kept, the rest skipped',
    );
  }
  const restored: RestoredDeferred[] = [];
  for (const { entry } of latest.values()) if (entry !== undefined) restored.push(entry);
  return restored;
}
