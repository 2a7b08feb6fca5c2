/**
 * Fuzz target: a disk queue's start-up recovery and reading (broker/nsqd/disk-queue*.ts) from files
 * written byte for byte into a temporary folder. An input is
 * `[flags][meta length u8][meta text]{[file number u8][length u16 BE][bytes]}`: flags bit 0 says there
 * is a metadata file, bits 1-2 how many data files follow, bit 3 that payloads are checked as nsqd
 * messages (the broker's setting). Opening never throws; depth is never negative; reading returns
 * only records within the size bounds (and message-shaped when checked) and then stops; with no
 * metadata and only whole records, every record is read; after reading, depth is 0, a new record
 * goes in and out, and a reopened queue is empty.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiskQueue } from '../../../../broker/nsqd/disk-queue.ts';
import { dataFileName, metaFileName } from '../../../../broker/nsqd/disk-queue-files.ts';
import { looksLikeMessage } from '../../../../broker/nsqd/disk-queue-resync.ts';
import { seededRandom } from '../../prng.ts';
import { invariant, scratchDir, type FuzzTarget } from '../target.ts';
import { readNext } from '../../disk-queue-records.ts';

const NAME = 'q';
const MAX_MSG = 512;

interface Layout {
  meta: Buffer | undefined;
  files: Array<{ num: number; bytes: Buffer }>;
  checked: boolean;
}

function layout(input: Buffer): Layout {
  const flags = input[0] ?? 0;
  let at = 1;
  let meta: Buffer | undefined;
  if ((flags & 1) !== 0) {
    const length = input[at] ?? 0;
    meta = input.subarray(at + 1, at + 1 + length);
    at += 1 + length;
  }
  const files: Layout['files'] = [];
  for (let i = 0, n = (flags >> 1) & 3; i < n && at < input.length; i++) {
    const num = input[at]!;
    const length = at + 3 <= input.length ? input.readUInt16BE(at + 1) : 0;
    if (!files.some((file) => file.num === num)) files.push({ num, bytes: input.subarray(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return { meta, files, checked: (flags & 8) !== 0 };
}

/** Records in the files, in order, when every file holds only whole records; undefined otherwise. */
function wholeRecordCount(files: Layout['files'], minMsgSize: number, checked: boolean): number | undefined {
  let count = 0;
  for (const { bytes } of [...files].sort((a, b) => a.num - b.num)) {
    for (let pos = 0; pos < bytes.length; ) {
      if (pos + 4 > bytes.length) return undefined;
      const length = bytes.readInt32BE(pos);
      if (length < minMsgSize || length > MAX_MSG || pos + 4 + length > bytes.length) return undefined;
      if (checked && !looksLikeMessage(bytes, pos + 4, length)) return undefined;
      pos += 4 + length;
      count++;
    }
  }
  return count;
}

/** A payload shaped as nsqd stores a message: timestamp, attempts, hex id, body. */
function messagePayload(random: () => number, bodyLength: number): Buffer {
  const out = Buffer.alloc(26 + bodyLength, 0x62);
  out.writeBigInt64BE(BigInt(Date.UTC(2024, 0, 1)) * 1_000_000n + BigInt(Math.floor(random() * 1e9)));
  out.writeUInt16BE(1, 8);
  out.write(Math.floor(random() * 2 ** 48).toString(16).padStart(16, '0'), 10, 'latin1');
  return out;
}

export function diskQueueTarget(): FuzzTarget {
  const base = scratchDir('fuzz-dq-');
  let runs = 0;
  const open = (dataPath: string, checked: boolean) =>
    DiskQueue.open({
      name: NAME,
      dataPath,
      maxBytesPerFile: 1024,
      minMsgSize: checked ? 26 : 1,
      maxMsgSize: MAX_MSG,
      syncEvery: 1_000_000,
      syncTimeoutMs: 3_600_000,
      recordCheck: checked ? looksLikeMessage : undefined,
    });

  /** A queue's files after real use, as an input. */
  const seed = (random: () => number, records: number, reads: number, keepMeta: boolean, checked: boolean): Buffer => {
    const dir = join(base, `seed-${runs++}`);
    const queue = open(dir, checked);
    for (let i = 0; i < records; i++) queue.put(messagePayload(random, Math.floor(random() * 100)));
    for (let i = 0; i < reads; i++) readNext(queue);
    queue.close();
    const parts: Buffer[] = [];
    const meta = keepMeta ? readFileSync(metaFileName(dir, NAME)) : undefined;
    const nums = readdirSync(dir).filter((f) => f.endsWith('.dat') && !f.includes('meta')).map((f) => Number(f.split('.')[2])).slice(-3);
    parts.push(Buffer.from([(meta ? 1 : 0) | (nums.length << 1) | (checked ? 8 : 0)]));
    if (meta) parts.push(Buffer.from([meta.length]), meta);
    for (const num of nums) {
      const bytes = readFileSync(dataFileName(dir, NAME, num));
      const head = Buffer.alloc(3);
      head[0] = num & 0xff;
      head.writeUInt16BE(bytes.length, 1);
      parts.push(head, bytes);
    }
    rmSync(dir, { recursive: true, force: true });
    return Buffer.concat(parts);
  };

  return {
    name: 'disk-queue',
    maxLength: 8192,
    coverage: /\/broker\/nsqd\/disk-queue[a-z-]*\.ts/,
    dictionary: ['\n', ',', '0', '-1', '99999999999', '\0\0\0\x1a', '\0\0\0\0', '\xff\xff\xff\xff'],
    seeds() {
      const random = seededRandom(8);
      const seeds: Buffer[] = [];
      for (let i = 0; i < 24; i++) seeds.push(seed(random, 1 + Math.floor(random() * 30), Math.floor(random() * 10), i % 3 !== 0, i % 2 === 0));
      return seeds;
    },
    run(input) {
      const { meta, files, checked } = layout(input);
      const dir = join(base, String(runs++));
      mkdirSync(dir);
      // Closed whatever an invariant throws (close is idempotent): a long run must not pile up file descriptors.
      const opened: Array<{ close(): void }> = [];
      try {
        if (meta !== undefined) writeFileSync(metaFileName(dir, NAME), meta);
        for (const { num, bytes } of files) writeFileSync(dataFileName(dir, NAME, num), bytes);
        const queue = open(dir, checked);
        opened.push(queue);
        invariant(queue.depth >= 0, `depth ${queue.depth} after recovery`);
        const bound = Math.floor(input.length / 5) + 2;
        let read = 0;
        for (let record = readNext(queue); record !== undefined; record = readNext(queue)) {
          invariant(record.length >= (checked ? 26 : 1) && record.length <= MAX_MSG, `a record of ${record.length} bytes`);
          invariant(!checked || looksLikeMessage(record, 0, record.length), 'a record that is not a message');
          invariant(++read <= bound, `more than ${bound} records out of ${input.length} bytes`);
        }
        const whole = meta === undefined ? wholeRecordCount(files, checked ? 26 : 1, checked) : undefined;
        invariant(whole === undefined || read === whole, `${read} of ${whole} whole records read`);
        invariant(queue.depth === 0, `depth ${queue.depth} once everything is read`);
        const probe = messagePayload(() => 0.5, 10);
        queue.put(probe);
        invariant(readNext(queue)?.equals(probe) === true, 'a new record did not come back');
        queue.close();
        const again = open(dir, checked);
        opened.push(again);
        invariant(again.depth === 0 && readNext(again) === undefined, 'a drained queue is not empty after reopening');
      } finally {
        for (const queue of opened) {
          try {
            queue.close();
          } catch {
            // Already reported by the invariant that failed, or closed.
          }
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
    expected: () => false,
    close() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}
