/**
 * The on-disk layout of a disk queue, compatible with go-diskqueue v1.1.0 (as used by nsqd):
 *
 * - data files `<name>.diskqueue.<NNNNNN>.dat`, holding records `[int32 BE length][payload]`;
 * - a metadata file `<name>.diskqueue.meta.dat` holding `"%d\n%d,%d\n%d,%d\n"`
 *   (depth, readFileNum,readPos, writeFileNum,writePos), replaced atomically.
 *
 * Everything here is synchronous: the queue runs on the broker's event loop, and batched
 * synchronous I/O on local files is the cheapest path there.
 */
import { CodedError } from '../../protocol/coded-error.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { DiskQueueLogger } from './disk-queue-logger.ts';

/** Stable codes of {@link DiskQueueError}. */
export const DiskQueueErrorCode = {
  /** `put` of a payload shorter than minMsgSize or longer than maxMsgSize. */
  InvalidMessageSize: 'E_DISKQUEUE_INVALID_MSG_SIZE',
  /** The queue was closed or deleted. */
  Closed: 'E_DISKQUEUE_CLOSED',
  /** A file operation failed; `cause` holds the system error. */
  Io: 'E_DISKQUEUE_IO',
} as const;

export type DiskQueueErrorCode = (typeof DiskQueueErrorCode)[keyof typeof DiskQueueErrorCode];

export class DiskQueueError extends CodedError<DiskQueueErrorCode> {
  override readonly name = 'DiskQueueError';
}

/** The persisted positions of a queue. Positions are byte offsets inside a data file. */
export interface QueuePositions {
  depth: number;
  readFileNum: number;
  readPos: number;
  writeFileNum: number;
  writePos: number;
}

export function dataFileName(dataPath: string, name: string, fileNum: number): string {
  return path.join(dataPath, `${name}.diskqueue.${String(fileNum).padStart(6, '0')}.dat`);
}

export function metaFileName(dataPath: string, name: string): string {
  return path.join(dataPath, `${name}.diskqueue.meta.dat`);
}

export function formatMetadata(p: QueuePositions): string {
  return `${p.depth}\n${p.readFileNum},${p.readPos}\n${p.writeFileNum},${p.writePos}\n`;
}

const METADATA_PATTERN = /^(-?\d+)\n(-?\d+),(-?\d+)\n(-?\d+),(-?\d+)\n/;

/** Parses metadata text; undefined when it does not have the expected shape. */
export function parseMetadata(text: string): QueuePositions | undefined {
  const m = METADATA_PATTERN.exec(text);
  if (!m) return undefined;
  return {
    depth: Number(m[1]),
    readFileNum: Number(m[2]),
    readPos: Number(m[3]),
    writeFileNum: Number(m[4]),
    writePos: Number(m[5]),
  };
}

/** Reads the metadata file: null when it does not exist, undefined when it is malformed. */
export function readMetadataFile(file: string): QueuePositions | null | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return parseMetadata(text);
}

/** A new temporary name beside the metadata file, `<meta>.<rand>.tmp`, as go-diskqueue names them. */
export function metadataTmpName(file: string): string {
  return `${file}.${Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)}.tmp`;
}

/**
 * Replaces the metadata file atomically with `text` (formatMetadata's), as go-diskqueue does:
 * write `<meta>.<rand>.tmp`, fsync it, rename it over the old one.
 */
export function writeMetadataFile(file: string, text: string): void {
  const tmp = metadataTmpName(file);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Data file numbers of queue `name` present in `dataPath`, ascending. `.bad` files are not counted. */
export function listDataFileNums(dataPath: string, name: string): number[] {
  const prefix = `${name}.diskqueue.`;
  const nums: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dataPath);
  } catch (err) {
    if (isNotFound(err)) return nums;
    throw err;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const rest = entry.slice(prefix.length);
    if (/^\d{6,}\.dat$/.test(rest)) nums.push(Number(rest.slice(0, -4)));
  }
  return nums.sort((a, b) => a - b);
}

/**
 * Data file numbers of queue `name` in [from, below): counted when the range is short, listed when
 * it is long, so that a gap in the numbers (damaged metadata) costs one listing, not a step a number.
 */
export function dataFileNumsIn(dataPath: string, name: string, from: number, below: number): number[] {
  if (below - from <= 64) return Array.from({ length: Math.max(0, below - from) }, (_, i) => from + i);
  return listDataFileNums(dataPath, name).filter((num) => num >= from && num < below);
}

/**
 * Keeps a damaged data file as `<file>.bad`, as go-diskqueue does, and returns the number of the file
 * to read next. A missing file (damaged metadata may point far before the files) moves on to the next
 * file that exists, up to `writeFileNum`.
 */
export function setAsideBadFile(dataPath: string, name: string, fileNum: number, writeFileNum: number, log: DiskQueueLogger): number {
  const file = dataFileName(dataPath, name, fileNum);
  try {
    fs.renameSync(file, `${file}.bad`);
  } catch (err) {
    if (isNotFound(err)) return dataFileNumsIn(dataPath, name, fileNum + 1, writeFileNum)[0] ?? writeFileNum;
    log.error({ queue: name, file, err }, 'disk queue failed to rename bad file');
  }
  return fileNum + 1;
}

/**
 * Writing is moving to data file `fileNum`, which must not exist yet, nor any after it. One that does
 * is left from before: metadata that was damaged or lost pointed writing at an earlier number. Left
 * there, the new file's records would be mixed with its old ones, and a later start would adopt a
 * later one as a roll whose metadata was not saved. Each is kept as `<file>.bad`. One directory
 * listing per new write file (every max-bytes-per-file written).
 */
export function setAsideFilesFrom(dataPath: string, name: string, fileNum: number, log: DiskQueueLogger): void {
  let stale: number[];
  try {
    stale = listDataFileNums(dataPath, name).filter((num) => num >= fileNum);
  } catch (err) {
    log.error({ queue: name, err }, 'disk queue failed to list its files');
    return;
  }
  for (const num of stale) {
    const file = dataFileName(dataPath, name, num);
    // Only a file: anything else by that name is not ours to move, and writing to it will fail.
    if (!isRegularFile(file)) continue;
    log.warn({ queue: name, file: `${file}.bad`, writeFileNum: fileNum }, 'disk queue found a data file from before where it is about to write; saving it as bad');
    try {
      fs.renameSync(file, `${file}.bad`);
    } catch (err) {
      if (!isNotFound(err)) log.error({ queue: name, file, err }, 'disk queue failed to rename bad file');
    }
  }
}

function isRegularFile(file: string): boolean {
  return fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** Leftover temporary metadata files of queue `name` (from a crash between write and rename). */
export function listMetadataTmpFiles(dataPath: string, name: string): string[] {
  const prefix = `${name}.diskqueue.meta.dat.`;
  let entries: string[];
  try {
    entries = fs.readdirSync(dataPath);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  return entries
    .filter((e) => e.startsWith(prefix) && /^\d+\.tmp$/.test(e.slice(prefix.length)))
    .map((e) => path.join(dataPath, e));
}

/** Makes a new file's name (or a rename) durable: fsync of the directory that holds it. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes all of `buf[offset, offset+length)` at file position `position`. */
export function writeFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  while (length > 0) {
    const n = fs.writeSync(fd, buf, offset, length, position);
    offset += n;
    position += n;
    length -= n;
  }
}

/** Reads up to `length` bytes at `position` into `buf[offset..]`; returns how many (fewer only at end of file). */
export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let total = 0;
  while (total < length) {
    const n = fs.readSync(fd, buf, offset + total, length - total, position + total);
    if (n === 0) break;
    total += n;
  }
  return total;
}

export interface ScanResult {
  /** Whole, valid records found. */
  count: number;
  /** Offset just past the last whole, valid record. */
  end: number;
  /** Why the scan stopped before `limit`, if it did. */
  stop?: 'torn' | 'bad-length';
  /** The offending length, when stop is 'bad-length'. */
  badLength?: number;
}

/**
 * Walks the record headers of an open data file from `start` up to `limit` (normally the file
 * size) and reports how far the whole, valid records reach. Used by recovery only.
 */
export function scanRecords(
  fd: number,
  start: number,
  limit: number,
  minMsgSize: number,
  maxMsgSize: number,
  scratch: Buffer,
): ScanResult {
  let pos = start;
  let count = 0;
  let bufPos = 0;
  let bufLen = 0;
  while (pos < limit) {
    if (pos + 4 > limit) return { count, end: pos, stop: 'torn' };
    if (pos < bufPos || pos + 4 > bufPos + bufLen) {
      bufLen = readFully(fd, scratch, 0, Math.min(scratch.length, limit - pos), pos);
      bufPos = pos;
      if (bufLen < 4) return { count, end: pos, stop: 'torn' };
    }
    const length = scratch.readInt32BE(pos - bufPos);
    if (length < minMsgSize || length > maxMsgSize) return { count, end: pos, stop: 'bad-length', badLength: length };
    if (pos + 4 + length > limit) return { count, end: pos, stop: 'torn' };
    pos += 4 + length;
    count++;
  }
  return { count, end: pos };
}

/** Size of a file, 0 when it does not exist. */
export function fileSizeOrZero(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}

/** Removes a file; true when it existed. */
export function removeIfExists(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

export function closedError(name: string): DiskQueueError {
  return new DiskQueueError(DiskQueueErrorCode.Closed, `disk queue ${name} is closed`);
}

export function ioError(err: unknown, what: string): DiskQueueError {
  if (err instanceof DiskQueueError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new DiskQueueError(DiskQueueErrorCode.Io, `${what}: ${detail}`, { cause: err });
}
