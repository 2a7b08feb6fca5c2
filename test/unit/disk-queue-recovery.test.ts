import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskQueue, type DiskQueueOptions } from '../../broker/nsqd/disk-queue.ts';
import { readNext } from '../support/disk-queue-records.ts';

interface LogEntry {
  obj: object;
  msg: string;
}

let dir: string;
let opened: DiskQueue[];
let warns: LogEntry[];
let errors: LogEntry[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-recovery-'));
  opened = [];
  warns = [];
  errors = [];
});

afterEach(() => {
  for (const q of opened) {
    try {
      q.close();
    } catch {
      // already closed
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const NAME = 'events:archive';

function open(overrides: Partial<DiskQueueOptions> = {}, dataPath = dir): DiskQueue {
  const q = DiskQueue.open({
    name: NAME,
    dataPath,
    maxBytesPerFile: 1024 * 1024,
    minMsgSize: 26,
    maxMsgSize: 1024,
    syncEvery: 2500,
    syncTimeoutMs: 60_000,
    logger: {
      warn: (obj, msg) => warns.push({ obj, msg }),
      error: (obj, msg) => errors.push({ obj, msg }),
    },
    ...overrides,
  });
  opened.push(q);
  return q;
}

function payload(seq: number, size = 46): Buffer {
  const buf = Buffer.alloc(size, seq & 0xff);
  buf.writeUInt32BE(seq, 0);
  return buf;
}

/** Reads everything, checking that each record is intact, and returns the sequence numbers. */
function readSeqs(q: DiskQueue, size = 46): number[] {
  const out: number[] = [];
  for (let r = readNext(q); r !== undefined; r = readNext(q)) {
    const seq = r.readUInt32BE(0);
    expect(r.equals(payload(seq, size))).toBe(true);
    out.push(seq);
  }
  return out;
}

function record(seq: number, size = 46): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(size);
  return Buffer.concat([head, payload(seq, size)]);
}

const file = (num: number, dataPath = dir): string =>
  path.join(dataPath, `${NAME}.diskqueue.${String(num).padStart(6, '0')}.dat`);
const metaFile = (dataPath = dir): string => path.join(dataPath, `${NAME}.diskqueue.meta.dat`);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function corruptLength(target: string, offset: number, length: number): void {
  const fd = fs.openSync(target, 'r+');
  const head = Buffer.alloc(4);
  head.writeInt32BE(length);
  fs.writeSync(fd, head, 0, 4, offset);
  fs.closeSync(fd);
}

describe('DiskQueue read errors', () => {
  it.each([
    ['too large', 0x7fffffff],
    ['too small', 3],
    ['negative', -1],
    ['past the end of the file', 500],
  ])('renames a finished file with a bad length (%s) to .bad and goes on with the next file', (_label, bad) => {
    const q = open({ maxBytesPerFile: 100 });
    for (let i = 0; i < 6; i++) q.put(payload(i)); // files 0, 1, 2
    q.close();
    corruptLength(file(1), 50, bad);

    const r = open({ maxBytesPerFile: 100 });
    expect(readSeqs(r)).toEqual([0, 1, 2, 4, 5]);
    expect(fs.existsSync(`${file(1)}.bad`)).toBe(true);
    expect(fs.existsSync(file(1))).toBe(false);
    expect(errors.some((e) => e.msg.includes('read error'))).toBe(true);
    expect(warns.some((w) => w.msg.includes('bad file'))).toBe(true);
    expect(r.depth).toBe(0); // the lost record was counted: reset at the tail, and logged
    expect(errors.some((e) => e.msg.includes('depth at tail'))).toBe(true);
  });

  it('when the write file is bad, writing moves on, keeping the records not yet written', () => {
    const q = open();
    for (let i = 0; i < 4; i++) q.put(payload(i));
    q.close();
    // The last record: with no whole record after the damage, nothing of the file can be resumed.
    corruptLength(file(0), 150, 0x01000000);

    const r = open();
    r.put(payload(10)); // still in the write buffer when the corruption is found
    r.put(payload(11));
    expect(readSeqs(r)).toEqual([0, 1, 2, 10, 11]);
    expect(fs.existsSync(`${file(0)}.bad`)).toBe(true);
    r.put(payload(12));
    expect(readSeqs(r)).toEqual([12]);
    r.put(payload(13));
    r.close();

    const again = open();
    expect(again.depth).toBe(1);
    expect(readSeqs(again)).toEqual([13]);
    again.close();
    expect(fs.readFileSync(metaFile(), 'utf8')).toBe('0\n1,200\n1,200\n');
  });

  it('skips a read file that has gone missing', () => {
    const q = open({ maxBytesPerFile: 100 });
    for (let i = 0; i < 6; i++) q.put(payload(i));
    q.close();
    fs.unlinkSync(file(1));
    const r = open({ maxBytesPerFile: 100 });
    expect(readSeqs(r)).toEqual([0, 1, 4, 5]);
    expect(errors.some((e) => e.msg.includes('read error'))).toBe(true);
  });
});

describe('DiskQueue recovery on open', () => {
  it.each([
    ['a partial record', Buffer.concat([record(99).subarray(0, 4), Buffer.alloc(30, 7)])],
    ['a partial header', Buffer.from([0, 0])],
    ['a length out of range', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(40)])],
  ])('truncates a torn tail (%s); whole records survive and new puts read back', (_label, tail) => {
    const q = open();
    for (let i = 0; i < 10; i++) q.put(payload(i));
    q.close();
    fs.appendFileSync(file(0), tail);

    const r = open();
    expect(r.depth).toBe(10);
    expect(fs.statSync(file(0)).size).toBe(500);
    expect(warns.some((w) => w.msg.includes('torn tail'))).toBe(true);
    r.put(payload(10));
    r.put(payload(11));
    expect(readSeqs(r)).toEqual(range(0, 12));
  });

  it('with metadata that does not fit the files, adopts a later data file past a gap in the numbers, once and for all', () => {
    // The metadata points past a write file that is gone; file 2 holds records, file 1 is missing.
    fs.writeFileSync(metaFile(), '9\n0,459\n0,939\n');
    fs.writeFileSync(file(2), Buffer.concat([record(0), record(1)]));
    const q = open();
    expect(readSeqs(q)).toEqual([0, 1]);
    expect(q.depth).toBe(0);
    q.put(payload(2));
    expect(readSeqs(q)).toEqual([2]);
    q.close();
    // Reopened, the queue is as it was left: empty, not holding file 2's records a second time.
    const r = open();
    expect(r.depth).toBe(0);
    expect(readSeqs(r)).toEqual([]);
  });

  it('steps over a gap of missing data files in one move, however far the metadata points', () => {
    // A write file number far past the files: reading, emptying and closing went through every
    // number in between (with a metadata sync at each), which never ended.
    fs.writeFileSync(metaFile(), '1\n0,0\n99999999999,0\n');
    fs.writeFileSync(file(3), Buffer.concat([record(0), record(1)]));
    const q = open();
    expect(readSeqs(q)).toEqual([0, 1]);
    q.put(payload(2));
    expect(readSeqs(q)).toEqual([2]);
    q.empty();
    q.close();
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.dat') && !name.includes('meta'))).toEqual([]);
  });

  it('adopts records written after the last metadata save (a snapshot of the files, as a kill -9 leaves them)', async () => {
    const q = open({ syncEvery: 4, maxBytesPerFile: 400 });
    for (let i = 0; i < 5; i++) q.put(payload(i)); // metadata saved after the 4th put
    readNext(q); // a read after the save: the snapshot will deliver it again
    await new Promise((resolve) => setImmediate(resolve)); // the end-of-tick flush
    await q.metadataSettled(); // the periodic save runs in the background
    expect(fs.readFileSync(metaFile(), 'utf8')).toBe('4\n0,0\n0,200\n');
    expect(fs.statSync(file(0)).size).toBe(250);

    const snapshot = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-snapshot-'));
    try {
      fs.cpSync(dir, snapshot, { recursive: true });
      const r = open({ syncEvery: 4, maxBytesPerFile: 400 }, snapshot);
      expect(r.depth).toBe(5);
      expect(warns.some((w) => w.msg.includes('after the last metadata save'))).toBe(true);
      expect(readSeqs(r)).toEqual(range(0, 5));
      r.close();
      // A background save the reads started, overtaken by close's, removes its temporary file: before the folder goes.
      await r.metadataSettled();
    } finally {
      fs.rmSync(snapshot, { recursive: true, force: true });
    }
  });

  it('sets aside a data file from before that lies past the write file, rather than adopting it later', () => {
    const dataFile = (num: number): string => path.join(dir, `${NAME}.diskqueue.${String(num).padStart(6, '0')}.dat`);
    const q = open({ maxBytesPerFile: 200 });
    for (let i = 0; i < 3; i++) q.put(payload(i)); // 150 bytes of file 0
    q.close();
    // Left from an earlier life of the queue, past a gap: file 1 does not exist, so nothing adopts it at open.
    fs.writeFileSync(dataFile(2), Buffer.concat([record(900), record(901)]));
    const r = open({ maxBytesPerFile: 200 });
    expect(r.depth).toBe(3);
    for (let i = 3; i < 6; i++) r.put(payload(i)); // rolls to file 1: file 2 goes aside
    r.close();
    expect(fs.existsSync(`${dataFile(2)}.bad`)).toBe(true);
    expect(fs.existsSync(dataFile(2))).toBe(false);
    expect(warns.some((w) => w.msg.includes('a data file from before'))).toBe(true);
    const again = open({ maxBytesPerFile: 200 });
    expect(again.depth).toBe(6);
    expect(readSeqs(again)).toEqual(range(0, 6));
  });

  it('adopts whole records past the saved write position and cuts the torn one after them', () => {
    const q = open();
    for (let i = 0; i < 5; i++) q.put(payload(i));
    q.close();
    fs.appendFileSync(file(0), Buffer.concat([record(5), record(6), record(7), record(8).subarray(0, 20)]));
    const r = open();
    expect(r.depth).toBe(8);
    expect(fs.statSync(file(0)).size).toBe(400);
    expect(readSeqs(r)).toEqual(range(0, 8));
  });

  it.each([
    ['missing', null],
    ['malformed', 'not metadata\n'],
  ])('recovers by scanning the data files when the metadata is %s', (_label, meta) => {
    const q = open({ maxBytesPerFile: 200 });
    for (let i = 0; i < 18; i++) q.put(payload(i)); // files 0..4, four records each but the last
    q.close();
    if (meta === null) fs.unlinkSync(metaFile());
    else fs.writeFileSync(metaFile(), meta);

    const r = open({ maxBytesPerFile: 200 });
    expect(r.depth).toBe(18);
    expect(warns.some((w) => w.msg.includes('recovered from the data files'))).toBe(true);
    r.put(payload(18));
    expect(readSeqs(r)).toEqual(range(0, 19));
  });

  it('resets a read position past the write position, as go-diskqueue does', () => {
    const q = open();
    for (let i = 0; i < 3; i++) q.put(payload(i));
    q.close();
    fs.writeFileSync(metaFile(), '3\n0,400\n0,150\n');

    const r = open();
    expect(r.depth).toBe(0);
    expect(readNext(r)).toBeUndefined();
    expect(errors.some((e) => e.msg.includes('past the write position'))).toBe(true);
    r.put(payload(7));
    expect(readSeqs(r)).toEqual([7]);
  });

  it('resets depth left over at the tail', () => {
    const q = open();
    for (let i = 0; i < 3; i++) q.put(payload(i));
    readSeqs(q);
    q.close();
    fs.writeFileSync(metaFile(), '7\n0,150\n0,150\n');
    const r = open();
    expect(r.depth).toBe(0);
    expect(errors.some((e) => e.msg.includes('depth at its tail'))).toBe(true);
    r.close();
    expect(fs.readFileSync(metaFile(), 'utf8')).toBe('0\n0,150\n0,150\n');
  });

  it('salvages the whole records of a write file shorter than the metadata says', () => {
    const q = open();
    for (let i = 0; i < 4; i++) q.put(payload(i));
    q.close();
    fs.truncateSync(file(0), 120); // cuts the third record
    const r = open();
    expect(errors.some((e) => e.msg.includes('shorter than its metadata'))).toBe(true);
    expect(r.depth).toBe(2);
    expect(readSeqs(r)).toEqual([0, 1]);
  });
});

describe('DiskQueue volume', () => {
  it('round-trips 1,000,000 records through close and open', () => {
    const q = open({ maxBytesPerFile: 104857600, maxMsgSize: 1048602 });
    const buf = Buffer.alloc(226, 0x5a);
    for (let i = 0; i < 1_000_000; i++) {
      buf.writeUInt32BE(i, 0);
      q.put(buf);
    }
    q.close();
    const r = open({ maxBytesPerFile: 104857600, maxMsgSize: 1048602 });
    expect(r.depth).toBe(1_000_000);
    let bad = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const got = readNext(r);
      if (got === undefined || got.length !== 226 || got.readUInt32BE(0) !== i || got[225] !== 0x5a) bad++;
    }
    expect(bad).toBe(0);
    expect(readNext(r)).toBeUndefined();
    expect(r.depth).toBe(0);
  }, 20_000);
});
