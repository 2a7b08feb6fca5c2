/**
 * Start-up recovery of a disk queue's positions.
 *
 * go-diskqueue trusts its metadata, and when the write file is longer than the saved write
 * position it starts a new write file and lets the reader salvage the rest. We do better: the
 * records that were written after the last metadata save (for instance before a `kill -9`) are
 * walked, checked and counted, and only a torn tail is cut away.
 */
import fs from 'node:fs';
import {
  dataFileName,
  fileSizeOrZero,
  listDataFileNums,
  metaFileName,
  readMetadataFile,
  removeIfExists,
  scanRecords,
  type QueuePositions,
  type ScanResult,
} from './disk-queue-files.ts';
import { findNextRecord, type PayloadCheck } from './disk-queue-resync.ts';
import type { DiskQueueLogger } from './disk-queue-logger.ts';


export interface RecoveryInput {
  name: string;
  dataPath: string;
  minMsgSize: number;
  maxMsgSize: number;
  log: DiskQueueLogger;
  /** Tells a record payload from garbage, to find whole records past damage (disk-queue-resync.ts). */
  check?: PayloadCheck;
}

export interface RecoveryResult {
  positions: QueuePositions;
  /** Whether the positions differ from the metadata file, which must then be rewritten. */
  changed: boolean;
}

const SCAN_BLOCK_SIZE = 1024 * 1024;

export function recoverPositions(input: RecoveryInput): RecoveryResult {
  const { name, dataPath, log } = input;
  const scratch = Buffer.allocUnsafe(SCAN_BLOCK_SIZE);
  let changed = false;
  let p = readMetadataFile(metaFileName(dataPath, name));
  if (p === undefined) {
    log.error({ queue: name }, 'disk queue metadata is malformed; recovering by scanning the data files');
    p = null;
  }
  if (p === null) {
    p = positionsFromDataFiles(input, scratch);
    if (p === null) return { positions: zeroPositions(), changed: false };
    changed = true;
  }

  // Positions that do not fit the files (damaged metadata) get a full listing: a later data file
  // past a gap in the numbers holds records too, and the write position must not fall behind it.
  const suspect = fileSizeOrZero(dataFileName(dataPath, name, p.writeFileNum)) < p.writePos || readPastWrite(p);
  changed = adoptLaterFiles(input, p, scratch, suspect) || changed;
  changed = recoverWriteFile(input, p, scratch) || changed;
  changed = fixInconsistencies(input, p) || changed;
  return { positions: p, changed };
}

function zeroPositions(): QueuePositions {
  return { depth: 0, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 0 };
}

/** Without metadata: read from the oldest data file, write to the newest, count what lies between. */
function positionsFromDataFiles(input: RecoveryInput, scratch: Buffer): QueuePositions | null {
  const nums = listDataFileNums(input.dataPath, input.name);
  const first = nums[0];
  const last = nums[nums.length - 1];
  if (first === undefined || last === undefined) return null;
  let depth = 0;
  for (const num of nums) {
    if (num === last) break; // the write file is walked by recoverWriteFile
    depth += scanFile(input, dataFileName(input.dataPath, input.name, num), 0, scratch).count;
  }
  input.log.warn(
    { queue: input.name, readFileNum: first, writeFileNum: last, depth },
    'disk queue metadata is missing; positions recovered from the data files',
  );
  return { depth, readFileNum: first, readPos: 0, writeFileNum: last, writePos: 0 };
}

function scanFile(input: RecoveryInput, file: string, start: number, scratch: Buffer): ScanResult {
  const size = fileSizeOrZero(file);
  if (size <= start) return { count: 0, end: start };
  const fd = fs.openSync(file, 'r');
  try {
    return scanRecords(fd, start, size, input.minMsgSize, input.maxMsgSize, scratch);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Data files numbered past the saved write file: a roll whose metadata never reached the disk
 * (a crash or power loss right after it). Their records are real, acknowledged ones: adopt them,
 * the last file becoming the write file (walked by recoverWriteFile).
 */
function adoptLaterFiles(input: RecoveryInput, p: QueuePositions, scratch: Buffer, list: boolean): boolean {
  // One stat per queue in the common case, not a listing of a data path holding thousands of files.
  if (!list && !fs.existsSync(dataFileName(input.dataPath, input.name, p.writeFileNum + 1))) return false;
  const later = listDataFileNums(input.dataPath, input.name).filter((num) => num > p.writeFileNum);
  const last = later[later.length - 1];
  if (last === undefined) return false;
  let depth = scanFile(input, dataFileName(input.dataPath, input.name, p.writeFileNum), p.writePos, scratch).count;
  for (const num of later) if (num !== last) depth += scanFile(input, dataFileName(input.dataPath, input.name, num), 0, scratch).count;
  input.log.warn(
    { queue: input.name, savedWriteFileNum: p.writeFileNum, adopted: later },
    'disk queue has data files past its saved write file (a roll whose metadata was not saved); adopting their records',
  );
  p.depth += depth;
  p.writeFileNum = last;
  p.writePos = 0;
  return true;
}

/**
 * Makes the write position match the write file: whole records past it are adopted, a torn
 * tail is truncated away, and a file shorter than the metadata says is walked from the start.
 */
function recoverWriteFile(input: RecoveryInput, p: QueuePositions, scratch: Buffer): boolean {
  const { name, log } = input;
  const file = dataFileName(input.dataPath, name, p.writeFileNum);
  const size = fileSizeOrZero(file);
  if (size === p.writePos) return false;

  let start = p.writePos;
  if (size < p.writePos) {
    // The metadata points past the data (the file was cut or replaced): salvage what is there.
    start = p.readFileNum === p.writeFileNum && p.readPos <= size ? p.readPos : 0;
    log.error(
      { queue: name, file, size, writePos: p.writePos },
      'disk queue write file is shorter than its metadata says; records were lost',
    );
  }

  // Created when missing (metadata ahead of a file that never reached the disk).
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const scan = scanPastDamage(input, fd, file, start, size, scratch);
    if (scan.end < size) {
      log.warn(
        { queue: name, file, at: scan.end, bytes: size - scan.end, reason: scan.stop, length: scan.badLength },
        'disk queue write file has a torn tail; truncating it',
      );
      fs.ftruncateSync(fd, scan.end);
      fs.fsyncSync(fd);
    }
    if (start === p.writePos) {
      if (scan.count > 0) {
        log.warn({ queue: name, file, records: scan.count }, 'disk queue recovered records written after the last metadata save');
      }
      p.depth += scan.count;
    } else if (p.readFileNum === p.writeFileNum) {
      p.depth = scan.count;
    }
    p.writePos = scan.end;
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Walks the records from `start`; where damaged bytes stop the walk, goes on from the next whole
 * records (if any) so that the intact records after them are counted and kept, not cut off as a
 * torn tail. The damaged bytes stay: reading skips them the same way (disk-queue.ts skipBadFile).
 */
function scanPastDamage(input: RecoveryInput, fd: number, file: string, start: number, size: number, scratch: Buffer): ScanResult {
  const { minMsgSize, maxMsgSize } = input;
  const scan = scanRecords(fd, start, size, minMsgSize, maxMsgSize, scratch);
  while (scan.end < size) {
    const next = findNextRecord({ fd, from: scan.end + 1, limit: size, minMsgSize, maxMsgSize, check: input.check });
    if (next < 0) break;
    input.log.error(
      { queue: input.name, file, damagedAt: scan.end, skippedBytes: next - scan.end, reason: scan.stop, resumeAt: next },
      'disk queue: damaged bytes in the write file; the whole records after them are kept',
    );
    const more = scanRecords(fd, next, size, minMsgSize, maxMsgSize, scratch);
    scan.count += more.count;
    scan.end = more.end;
    scan.stop = more.stop;
    scan.badLength = more.badLength;
  }
  return scan;
}

function readPastWrite(p: QueuePositions): boolean {
  return p.readFileNum > p.writeFileNum || (p.readFileNum === p.writeFileNum && p.readPos > p.writePos);
}

/** go-diskqueue's checks: a read position past the write position, or depth left at the tail. */
function fixInconsistencies(input: RecoveryInput, p: QueuePositions): boolean {
  const { name, log } = input;
  if (readPastWrite(p)) {
    log.error(
      { queue: name, readFileNum: p.readFileNum, readPos: p.readPos, writeFileNum: p.writeFileNum, writePos: p.writePos },
      'disk queue read position is past the write position, corruption; skipping to a new file and resetting depth to 0',
    );
    for (let num = p.readFileNum; num <= p.writeFileNum; num++) {
      removeIfExists(dataFileName(input.dataPath, name, num));
    }
    p.writeFileNum = Math.max(p.readFileNum, p.writeFileNum) + 1;
    p.writePos = 0;
    p.readFileNum = p.writeFileNum;
    p.readPos = 0;
    p.depth = 0;
    return true;
  }
  if (p.readFileNum === p.writeFileNum && p.readPos === p.writePos && p.depth !== 0) {
    log.error({ queue: name, depth: p.depth }, 'disk queue has depth at its tail, resetting depth to 0');
    p.depth = 0;
    return true;
  }
  return false;
}
