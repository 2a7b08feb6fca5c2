/**
 * Finding the records after a damaged one. go-diskqueue's records carry no checksum and no marker:
 * after a bad length it gives up on the rest of the file (it renames it `.bad`), dropping every
 * intact message behind the damage. We look for where whole records start again instead: an offset
 * whose length is in range and whose payload looks like a message (nsqd's encoding: a timestamp in
 * nanoseconds between the years 2001 and 2100, a 16-character hex id), followed by another such
 * record or by the exact end of the data. Two in a row is far beyond what garbage produces by
 * chance; a message body that happens to hold such bytes is read as what it claims to be, which is
 * why this runs only past damage, never on a healthy file.
 */
import { closeSync, openSync } from 'node:fs';
import { readFully } from './disk-queue-files.ts';
import { MESSAGE_HEADER_SIZE, MESSAGE_ID_OFFSET } from '../../protocol/message.ts';

/** Says whether `length` bytes at `at` in `buf` can be a record payload. */
export type PayloadCheck = (buf: Buffer, at: number, length: number) => boolean;

// The timestamp's high 32 bits: 2^32 ns is about 4.29 s, so 2001..2100 is about 2.3e8..9.6e8.
const MIN_TS_HIGH = 230_000_000;
const MAX_TS_HIGH = 960_000_000;

/** nsqd's message payload: `[int64 timestamp ns][uint16 attempts][16-byte hex id][body]`. */
export const looksLikeMessage: PayloadCheck = (buf, at, length) => {
  if (length < MESSAGE_HEADER_SIZE) return false;
  const high = buf.readUInt32BE(at);
  if (high < MIN_TS_HIGH || high > MAX_TS_HIGH) return false;
  for (let i = at + MESSAGE_ID_OFFSET; i < at + MESSAGE_HEADER_SIZE; i++) {
    const c = buf[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
};

export interface ResyncInput {
  fd: number;
  /** First offset to try (just past the start of the damaged record). */
  from: number;
  /** End of the readable data in the file. */
  limit: number;
  minMsgSize: number;
  maxMsgSize: number;
  check: PayloadCheck | undefined;
}

const WINDOW = 1 << 20;

/**
 * The offset of the first record after damage at which two valid records follow one another (or
 * one ends exactly at `limit`), or -1 when there is none before `limit`. Reads `limit - from`
 * bytes at most, a window at a time.
 */
export function findNextRecord(input: ResyncInput): number {
  const { fd, limit, minMsgSize, maxMsgSize, check } = input;
  const maxRecord = 4 + maxMsgSize;
  // A window holds two whole records from any start inside its first half.
  const size = Math.min(limit - input.from, Math.max(WINDOW, 4 * maxRecord));
  if (size <= 0) return -1;
  const buf = Buffer.allocUnsafe(size);
  for (let base = input.from; base < limit; ) {
    const have = readFully(fd, buf, 0, Math.min(size, limit - base), base);
    const last = base + have >= limit ? have : Math.max(1, have - 2 * maxRecord);
    for (let i = 0; i < last && i + 4 <= have; i++) {
      if (valid(buf, i, have, base + i, limit, minMsgSize, maxMsgSize, check, 2)) return base + i;
    }
    if (base + have >= limit) return -1;
    base += last;
  }
  return -1;
}

/** A valid record at `i` (file offset `pos`), and `depth - 1` more after it or the end of the data. */
function valid(buf: Buffer, i: number, have: number, pos: number, limit: number, min: number, max: number, check: PayloadCheck | undefined, depth: number): boolean {
  const length = buf.readInt32BE(i);
  if (length < min || length > max) return false;
  const end = i + 4 + length;
  if (pos + 4 + length > limit) return false;
  if (end > have) return false;
  if (check !== undefined && !check(buf, i + 4, length)) return false;
  if (pos + 4 + length === limit || depth <= 1) return true;
  if (end + 4 > have) return false;
  return valid(buf, end, have, pos + 4 + length, limit, min, max, check, depth - 1);
}

export interface ResyncRead {
  queue: string;
  file: string;
  /** Where the damaged record starts. */
  pos: number;
  limit: number;
  minMsgSize: number;
  maxMsgSize: number;
  check: PayloadCheck | undefined;
  reason: string;
  log: { error(obj: object, msg: string): void };
}

/** Past a damaged record at `pos`: the offset where whole records resume (logged), or -1 (none in this file). */
export function resyncRead(read: ResyncRead): number {
  let fd = -1;
  try {
    fd = openSync(read.file, 'r');
    const next = findNextRecord({ fd, from: read.pos + 1, limit: read.limit, minMsgSize: read.minMsgSize, maxMsgSize: read.maxMsgSize, check: read.check });
    if (next >= 0) {
      read.log.error(
        { queue: read.queue, file: read.file, damagedAt: read.pos, skippedBytes: next - read.pos, resumeAt: next, reason: read.reason },
        'disk queue: a damaged record; skipped to the next whole record, the records after it are kept',
      );
    }
    return next;
  } catch {
    return -1;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
