/**
 * Disk queue throughput: puts, then reads, of 226-byte payloads (a 200-byte body plus the
 * 26-byte message header), with nsqd's default sync policy; then the same interleaved (a put
 * and a read per message, the pace of a consumer keeping up); then the durable mode.
 *
 *   npx tsx bench/disk-queue.ts [records]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DiskQueue, type DiskQueueOptions } from '../broker/nsqd/disk-queue.ts';

const records = Number(process.argv[2] ?? 1_000_000);
const PAYLOAD_SIZE = 226;

function options(dataPath: string, overrides: Partial<DiskQueueOptions> = {}): DiskQueueOptions {
  return {
    name: 'bench',
    dataPath,
    maxBytesPerFile: 104857600,
    minMsgSize: 26,
    maxMsgSize: 1048576 + 26,
    syncEvery: 2500,
    syncTimeoutMs: 2000,
    ...overrides,
  };
}

function rate(count: number, startNs: bigint): string {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  return `${Math.round(count / seconds).toLocaleString('en-US')} msg/s (${seconds.toFixed(2)} s)`;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench check failed: ${what}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-bench-'));
try {
  const payload = Buffer.alloc(PAYLOAD_SIZE, 0x61);

  let q = DiskQueue.open(options(dir));
  let t = process.hrtime.bigint();
  for (let i = 0; i < records; i++) {
    payload.writeUInt32BE(i, 0);
    q.put(payload);
  }
  q.close();
  console.log(`put      ${records} x ${PAYLOAD_SIZE} B: ${rate(records, t)}`);

  q = DiskQueue.open(options(dir));
  check(q.depth === records, 'depth after reopen');
  t = process.hrtime.bigint();
  for (let i = 0; i < records; i++) {
    const record = q.readNext();
    check(record !== undefined && record.readUInt32BE(0) === i, `record ${i}`);
  }
  console.log(`readNext ${records} x ${PAYLOAD_SIZE} B: ${rate(records, t)}`);
  check(q.readNext() === undefined && q.depth === 0, 'empty at the end');

  t = process.hrtime.bigint();
  for (let i = 0; i < records; i++) {
    payload.writeUInt32BE(i, 0);
    q.put(payload);
    const record = q.readNext();
    check(record !== undefined && record.readUInt32BE(0) === i, `interleaved record ${i}`);
  }
  console.log(`put+readNext interleaved: ${rate(records, t)}`);
  q.deleteFiles();

  const durableRecords = Math.min(2000, records);
  q = DiskQueue.open(options(dir, { name: 'durable', syncEvery: 1 }));
  t = process.hrtime.bigint();
  for (let i = 0; i < durableRecords; i++) q.put(payload);
  console.log(`put, syncEvery=1 (durable) ${durableRecords}: ${rate(durableRecords, t)}`);
  q.deleteFiles();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
