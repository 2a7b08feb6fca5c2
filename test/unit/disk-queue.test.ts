import { pbkdf2 } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiskQueue, DiskQueueError, DiskQueueErrorCode, type DiskQueueOptions } from '../../broker/nsqd/disk-queue.ts';
import { MetadataWriter } from '../../broker/nsqd/disk-queue-meta-writer.ts';
import { readNext } from '../support/disk-queue-records.ts';

let dir: string;
let opened: DiskQueue[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-unit-'));
  opened = [];
});

afterEach(() => {
  for (const q of opened) {
    try {
      q.close();
    } catch {
      // already closed or deleted
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(overrides: Partial<DiskQueueOptions> = {}): DiskQueue {
  const q = DiskQueue.open({
    name: 'topic:channel',
    dataPath: dir,
    maxBytesPerFile: 1024 * 1024,
    minMsgSize: 26,
    maxMsgSize: 4 * 1024 * 1024,
    syncEvery: 2500,
    syncTimeoutMs: 60_000,
    ...overrides,
  });
  opened.push(q);
  return q;
}

/** A payload of `size` bytes carrying `seq` in its first 4 bytes and a pattern derived from it. */
function payload(seq: number, size = 40): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 4; i < size; i++) buf[i] = (seq * 31 + i) & 0xff;
  buf.writeUInt32BE(seq, 0);
  return buf;
}

function readAll(q: DiskQueue): Buffer[] {
  const out: Buffer[] = [];
  for (let r = readNext(q); r !== undefined; r = readNext(q)) out.push(r);
  return out;
}

function dataFiles(name = 'topic:channel'): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${name}.diskqueue.`) && /\.\d{6}\.dat$/.test(f))
    .sort();
}

const file = (num: number, name = 'topic:channel'): string =>
  path.join(dir, `${name}.diskqueue.${String(num).padStart(6, '0')}.dat`);
const metaText = (name = 'topic:channel'): string => fs.readFileSync(path.join(dir, `${name}.diskqueue.meta.dat`), 'utf8');
const nextImmediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));


describe('DiskQueue FIFO', () => {
  it('returns records in order across many small files, with sizes that vary', () => {
    const q = open({ maxBytesPerFile: 1000 });
    const sizes: number[] = [];
    for (let i = 0; i < 600; i++) sizes.push(26 + ((i * 37) % 300));
    sizes.forEach((size, i) => q.put(payload(i, size)));
    expect(q.depth).toBe(600);
    expect(dataFiles().length).toBeGreaterThan(100);

    const got = readAll(q);
    expect(got.length).toBe(600);
    got.forEach((record, i) => expect(record.equals(payload(i, sizes[i]))).toBe(true));
    expect(q.depth).toBe(0);
    expect(readNext(q)).toBeUndefined();
  });

  it('interleaves puts and reads, serving records still in the write buffer and already flushed ones', async () => {
    const q = open({ maxBytesPerFile: 5000 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 7; k++) q.put(payload(next++, 26 + ((next * 13) % 200)));
      for (let k = 0; k < 5; k++) {
        const record = readNext(q);
        expect(record?.readUInt32BE(0)).toBe(expected++);
      }
      if (round % 3 === 0) await nextImmediate(); // let the end-of-tick flush run sometimes
    }
    const rest = readAll(q);
    expect(rest.map((r) => r.readUInt32BE(0))).toEqual(Array.from({ length: next - expected }, (_, i) => expected + i));
    expect(q.depth).toBe(0);
  });

  it('never reads into a block again: a returned record is not changed by later reads', () => {
    const q = open();
    for (let i = 0; i < 20000; i++) q.put(payload(i, 333)); // > 6 MiB: several read blocks
    q.close();
    const r = open();
    const first = readNext(r) as Buffer;
    const copy = Buffer.from(first);
    let last: Buffer | undefined;
    for (let i = 1; i < 20000; i++) {
      last = readNext(r);
      // Records straddle the 1 MiB read blocks; every one must come out whole.
      expect(last?.equals(payload(i, 333))).toBe(true);
    }
    expect(first.equals(copy)).toBe(true);
  });

  it('handles records larger than the write buffer and the read block', () => {
    const q = open({ maxBytesPerFile: 1024 * 1024 });
    q.put(payload(0));
    q.put(payload(1, 3 * 1024 * 1024)); // larger than the file limit: alone in its own file
    q.put(payload(2));
    q.put(payload(3, 300 * 1024));
    expect(readNext(q)?.equals(payload(0))).toBe(true);
    q.close();
    const r = open();
    const big = readNext(r) as Buffer;
    expect(big.length).toBe(3 * 1024 * 1024);
    expect(big.equals(payload(1, 3 * 1024 * 1024))).toBe(true);
    expect(readNext(r)?.equals(payload(2))).toBe(true);
    expect(readNext(r)?.equals(payload(3, 300 * 1024))).toBe(true);
    expect(readNext(r)).toBeUndefined();
  });

  it('rejects payloads outside minMsgSize..maxMsgSize with a typed error', () => {
    const q = open({ maxMsgSize: 100 });
    const attempt = (size: number): unknown => {
      try {
        q.put(Buffer.alloc(size));
        return undefined;
      } catch (err) {
        return err;
      }
    };
    for (const size of [0, 25, 101]) {
      const err = attempt(size);
      expect(err).toBeInstanceOf(DiskQueueError);
      expect((err as DiskQueueError).code).toBe(DiskQueueErrorCode.InvalidMessageSize);
    }
    expect(attempt(26)).toBeUndefined();
    expect(attempt(100)).toBeUndefined();
    expect(q.depth).toBe(2);
  });
});

describe('DiskQueue errors', () => {
  it('wraps file system failures in a DiskQueueError with code E_DISKQUEUE_IO and the cause', () => {
    const notADirectory = path.join(dir, 'plain-file');
    fs.writeFileSync(notADirectory, 'x');
    let caught: unknown;
    try {
      open({ dataPath: path.join(notADirectory, 'data') });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DiskQueueError);
    expect((caught as DiskQueueError).code).toBe(DiskQueueErrorCode.Io);
    expect(((caught as DiskQueueError).cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });

  it('appends a range of a tail, in the buffer and past it, and refuses a range outside the tail', () => {
    const q = open();
    const head = payload(1, 26);
    // The bodies sit inside larger buffers, as an MPUB's do in its frame.
    const small = Buffer.concat([Buffer.from('<<'), Buffer.from('small body'), Buffer.from('>>')]);
    const large = Buffer.concat([Buffer.alloc(3, 0x3c), payload(2, 300 * 1024), Buffer.alloc(3, 0x3e)]);
    q.put(head, small, 2, 12);
    q.put(head, large, 3, 3 + 300 * 1024); // past the 256 KiB write buffer: written directly
    for (const [start, end] of [[-1, 4], [5, 4], [0, small.length + 1]]) {
      expect(() => q.put(head, small, start, end)).toThrow(RangeError);
    }
    expect(q.depth).toBe(2);
    const [first, second] = readAll(q);
    expect(first).toEqual(Buffer.concat([head, Buffer.from('small body')]));
    expect(second).toEqual(Buffer.concat([head, payload(2, 300 * 1024)]));
  });
});

describe('DiskQueue files', () => {
  it('rolls when writePos > 0 and writePos + 4 + len > maxBytesPerFile, and writes go-compatible metadata', () => {
    const q = open({ maxBytesPerFile: 100 });
    q.put(payload(0, 46)); // 50 bytes
    q.put(payload(1, 46)); // 100 bytes: exactly the limit, same file
    q.put(payload(2, 46)); // would reach 150: file 1
    q.put(payload(3, 200)); // bigger than the limit: file 2, alone
    q.put(payload(4, 26)); // file 3
    expect(readNext(q)?.readUInt32BE(0)).toBe(0);
    q.close();

    expect(fs.statSync(file(0)).size).toBe(100);
    expect(fs.statSync(file(1)).size).toBe(50);
    expect(fs.statSync(file(2)).size).toBe(204);
    expect(fs.statSync(file(3)).size).toBe(30);
    const raw = fs.readFileSync(file(0));
    expect(raw.readInt32BE(0)).toBe(46);
    expect(raw.subarray(4, 50).equals(payload(0, 46))).toBe(true);
    expect(raw.readInt32BE(50)).toBe(46);

    expect(metaText()).toBe('4\n0,50\n3,30\n');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads files and metadata laid out by go-diskqueue', () => {
    const record = (seq: number, size: number): Buffer => {
      const head = Buffer.alloc(4);
      head.writeInt32BE(size);
      return Buffer.concat([head, payload(seq, size)]);
    };
    // File 3 partly consumed (readPos after its first record), file 4 is the write file.
    fs.writeFileSync(file(3, 'legacy'), Buffer.concat([record(0, 30), record(1, 40), record(2, 50)]));
    fs.writeFileSync(file(4, 'legacy'), Buffer.concat([record(3, 26), record(4, 60)]));
    fs.writeFileSync(path.join(dir, 'legacy.diskqueue.meta.dat'), `4\n3,34\n4,${30 + 64}\n`);

    const q = open({ name: 'legacy' });
    expect(q.depth).toBe(4);
    expect(readAll(q).map((r) => r.readUInt32BE(0))).toEqual([1, 2, 3, 4]);
    expect(fs.existsSync(file(3, 'legacy'))).toBe(false);
    q.close();
    expect(metaText('legacy')).toBe(`0\n4,94\n4,94\n`);
  });

  it('deletes a file once it has been read to its end', () => {
    const q = open({ maxBytesPerFile: 100 });
    for (let i = 0; i < 6; i++) q.put(payload(i, 46)); // files 0, 1, 2: two records each
    expect(dataFiles().length).toBe(2); // file 2 is still in the write buffer
    readNext(q);
    expect(fs.existsSync(file(0))).toBe(true);
    readNext(q);
    expect(fs.existsSync(file(0))).toBe(false);
    expect(metaText()).toBe('4\n1,0\n2,100\n'); // saved before the delete
    readNext(q);
    readNext(q);
    expect(fs.existsSync(file(1))).toBe(false);
    expect(dataFiles()).toEqual([path.basename(file(2))]);
  });

  it('moves a reader that finished the write file along when writing rolls', () => {
    const q = open({ maxBytesPerFile: 100 });
    q.put(payload(0, 46));
    q.put(payload(1, 46));
    expect(readAll(q).length).toBe(2);
    q.put(payload(2, 46)); // rolls to file 1; file 0 is fully read
    expect(fs.existsSync(file(0))).toBe(false);
    expect(metaText()).toBe('0\n1,0\n1,0\n');
    expect(readNext(q)?.readUInt32BE(0)).toBe(2);
  });

  it('keeps everything across close and open', () => {
    const q = open({ maxBytesPerFile: 2000 });
    for (let i = 0; i < 100; i++) q.put(payload(i, 60));
    for (let i = 0; i < 30; i++) expect(readNext(q)?.readUInt32BE(0)).toBe(i);
    q.close();
    q.close(); // idempotent

    const r = open({ maxBytesPerFile: 2000 });
    expect(r.depth).toBe(70);
    for (let i = 100; i < 110; i++) r.put(payload(i, 60));
    expect(readAll(r).map((b) => b.readUInt32BE(0))).toEqual(Array.from({ length: 80 }, (_, i) => 30 + i));
    expect(() => q.put(payload(0))).toThrowError(expect.objectContaining({ code: DiskQueueErrorCode.Closed }));
  });

  it('empty() drops every record and file, and the queue goes on working', () => {
    const q = open({ maxBytesPerFile: 200 });
    for (let i = 0; i < 20; i++) q.put(payload(i, 46));
    readNext(q);
    q.empty();
    expect(q.depth).toBe(0);
    expect(readNext(q)).toBeUndefined();
    expect(dataFiles()).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'topic:channel.diskqueue.meta.dat'))).toBe(false);

    q.put(payload(100, 46));
    q.put(payload(101, 46));
    q.close();
    const r = open({ maxBytesPerFile: 200 });
    expect(r.depth).toBe(2);
    expect(readAll(r).map((b) => b.readUInt32BE(0))).toEqual([100, 101]);
  });

  it('deleteFiles() removes this queue files only', () => {
    const topic = open({ name: 'orders', maxBytesPerFile: 200 });
    const channel = open({ name: 'orders:audit', maxBytesPerFile: 200 });
    for (let i = 0; i < 10; i++) {
      topic.put(payload(i, 46));
      channel.put(payload(i, 46));
    }
    topic.close();
    channel.deleteFiles();
    const left = fs.readdirSync(dir).sort();
    expect(left.some((f) => f.startsWith('orders:audit.'))).toBe(false);
    expect(left).toContain('orders.diskqueue.meta.dat');
    expect(dataFiles('orders').length).toBe(3);
    expect(() => readNext(channel)).toThrowError(DiskQueueError);
  });
});

describe('DiskQueue sync policy', () => {
  it('syncEvery=1: each put is in the file with its metadata saved before put returns', () => {
    const q = open({ syncEvery: 1 });
    for (let i = 0; i < 5; i++) {
      q.put(payload(i, 46));
      expect(fs.statSync(file(0)).size).toBe((i + 1) * 50);
      expect(metaText()).toBe(`${i + 1}\n0,0\n0,${(i + 1) * 50}\n`);
    }
    readNext(q);
    expect(metaText()).toBe('4\n0,50\n0,250\n');
  });

  it('otherwise batches: bytes reach the file at the end of the tick, metadata after syncEvery operations', async () => {
    const q = open({ syncEvery: 10 });
    for (let i = 0; i < 5; i++) q.put(payload(i, 46));
    expect(fs.existsSync(file(0))).toBe(false);
    await nextImmediate();
    expect(fs.statSync(file(0)).size).toBe(250);
    expect(fs.existsSync(path.join(dir, 'topic:channel.diskqueue.meta.dat'))).toBe(false);
    for (let i = 5; i < 10; i++) q.put(payload(i, 46));
    // The periodic save runs in the background (disk-queue-meta-writer.ts).
    await q.metadataSettled();
    expect(metaText()).toBe('10\n0,0\n0,500\n');
  });

  it('a save made now overtakes a background save in flight, which never lands over it', async () => {
    const q = open({ syncEvery: 10 });
    for (let i = 0; i < 10; i++) q.put(payload(i, 46)); // a background save of depth 10 starts
    for (let i = 10; i < 15; i++) q.put(payload(i, 46));
    q.close(); // saves depth 15 at once
    expect(metaText()).toBe('15\n0,0\n0,750\n');
    await q.metadataSettled();
    expect(metaText()).toBe('15\n0,0\n0,750\n');
  });

  it('the periodic sync saves the positions of its fdatasync, not later ones still in the write buffer', async () => {
    const q = open({ syncEvery: 10 });
    for (let i = 0; i < 10; i++) q.put(payload(i, 46)); // the 10th flushes and starts the fdatasync
    for (let i = 10; i < 13; i++) q.put(payload(i, 46)); // buffered, not covered by it
    await q.metadataSettled();
    expect(metaText()).toBe('10\n0,0\n0,500\n');
  });

  it('a file rolled while its background fdatasync runs is closed when that ends, without an error', async () => {
    const errors: unknown[] = [];
    // Descriptors of this queue's files only: the fork's other descriptors (a child process's pipes,
    // a socket an earlier file's server is closing) come and go on their own.
    const realDir = fs.realpathSync(dir); // the links name real paths: a temp folder behind a symlink would match nothing
    const queueFds = (): number =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${realDir}/`);
        } catch {
          return false; // closed since the listing (the listing's own descriptor among them)
        }
      }).length;
    expect(queueFds()).toBe(0);
    const q = open({ syncEvery: 10, maxBytesPerFile: 500, logger: { warn() {}, error: (fields) => errors.push(fields) } });
    // Every thread of the pool busy for a while, so the fdatasync surely runs after the roll below.
    const busy = Array.from({ length: 4 }, () => promisify(pbkdf2)('x', 'y', 20_000, 32, 'sha256'));
    for (let i = 0; i < 10; i++) q.put(payload(i, 46)); // file 0 is full: its fdatasync is queued
    q.put(payload(10, 46)); // rolls to file 1 while that runs
    expect(queueFds()).toBeGreaterThan(0); // the count sees the queue's files
    // Closed at the roll, file 0's descriptor number would go to this, and the fdatasync with it.
    const taker = fs.openSync('/dev/null', 'r');
    expect(fs.statSync(file(0)).size).toBe(500);
    await Promise.all(busy);
    await q.metadataSettled(); // file 0 is closed by then
    expect(queueFds()).toBe(1); // file 1's writer only
    q.close();
    fs.closeSync(taker);
    expect(errors).toEqual([]);
    expect(queueFds()).toBe(0);
    expect(metaText()).toBe('11\n0,0\n1,50\n');
  });

  it('records put while a background fdatasync runs still reach the file at the end of the tick', async () => {
    const q = open({ syncEvery: 10 });
    // Every thread of the pool busy for a while, so the fdatasync is still running at the end of the tick.
    const busy = Array.from({ length: 4 }, () => promisify(pbkdf2)('x', 'y', 20_000, 32, 'sha256'));
    for (let i = 0; i < 10; i++) q.put(payload(i, 46)); // the 10th flushes and starts a sync
    await nextImmediate(); // a later turn: no end-of-tick flush is pending any more
    for (let i = 0; i < 9; i++) readNext(q);
    q.put(payload(10, 46)); // the 10th operation since: asks for another sync while the first runs
    await nextImmediate();
    expect(fs.statSync(file(0)).size).toBe(550);
    await Promise.all(busy);
    await q.metadataSettled();
  });

  it('background saves start at most every 100 ms, the last with the latest synced positions', async () => {
    // A background save starts by creating its temporary file.
    const openFile = fs.promises.open.bind(fs.promises);
    const starts: number[] = [];
    const spy = vi.spyOn(fs.promises, 'open').mockImplementation((file, flags, mode) => {
      if (String(file).endsWith('.tmp')) starts.push(performance.now());
      return openFile(file, flags, mode);
    });
    try {
      const q = open({ syncEvery: 10 });
      // A sync every 10 puts, each of which asks for a save once its fdatasync is done.
      for (let batch = 0; batch < 100; batch++) {
        for (let i = 0; i < 10; i++) q.put(payload(batch * 10 + i, 46));
        await nextImmediate();
      }
      await q.metadataSettled();
      expect(metaText()).toBe('1000\n0,0\n0,50000\n');
      expect(starts.length).toBeGreaterThan(1);
      const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
      // Measured at the open, after the writer reads the clock: a start delayed there shortens the
      // next gap as measured (96.6 ms once under a CI run's load). Without the limit the starts
      // would come with the fdatasyncs, a few milliseconds apart.
      expect(gaps.filter((gap) => gap < 90)).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('a save made now is written at once, even with the same positions as a background save waiting for its turn', async () => {
    const file = path.join(dir, 'writer.meta.dat');
    const writer = new MetadataWriter(file, 'writer', { warn() {}, error() {} });
    writer.save('A', true); // the first background save starts at once
    await writer.settled();
    writer.save('B', true); // the next waits for its turn
    // A clean close with unchanged positions: the process may exit right after it.
    writer.save('B', false);
    expect(fs.readFileSync(file, 'latin1')).toBe('B');
    await writer.settled();
    expect(fs.readFileSync(file, 'latin1')).toBe('B');
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('emptying drops a background save in flight: no metadata file comes back', async () => {
    const q = open({ syncEvery: 10 });
    for (let i = 0; i < 10; i++) q.put(payload(i, 46));
    q.empty();
    await q.metadataSettled();
    expect(fs.existsSync(path.join(dir, 'topic:channel.diskqueue.meta.dat'))).toBe(false);
    q.close();
  });

  it('saves after syncTimeoutMs when there was activity', async () => {
    const q = open({ syncEvery: 1_000_000, syncTimeoutMs: 20 });
    q.put(payload(0, 46));
    const metaFile = path.join(dir, 'topic:channel.diskqueue.meta.dat');
    const deadline = Date.now() + 5000;
    while (!fs.existsSync(metaFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(metaText()).toBe('1\n0,0\n0,50\n');
  });
});
