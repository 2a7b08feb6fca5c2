/**
 * Disk queue throughput with 226-byte payloads (a 200-byte body plus the 26-byte message
 * header) and nsqd's default sync policy (fsync + metadata every 2500 operations):
 * puts, then reads after a reopen, then both interleaved (a consumer keeping up), then the
 * durable mode (syncEvery 1). Each phase runs several rounds; the best and the median are
 * printed, since other work on the machine makes single runs noisy.
 *
 *   npx tsx bench/disk-queue.ts [records] [rounds]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DiskQueue, type DiskQueueOptions } from '../broker/nsqd/disk-queue.ts';
import { readNext } from '../test/support/disk-queue-records.ts';

const records = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 3);
const durableRecords = Math.min(2000, records);
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

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench check failed: ${what}`);
}

/** Runs `body` and returns msg/s for `count` messages. */
function measure(count: number, body: () => void): number {
  const start = process.hrtime.bigint();
  body();
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

const payload = Buffer.alloc(PAYLOAD_SIZE, 0x61);
const results: Record<string, number[]> = {
  [`put (${records})`]: [],
  [`readNext (${records})`]: [],
  [`put+readNext interleaved (${records})`]: [],
  [`put, syncEvery=1 (${durableRecords})`]: [],
};
const series = Object.values(results);

for (let round = 0; round < rounds; round++) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-bench-'));
  try {
    let q = DiskQueue.open(options(dir));
    series[0]?.push(
      measure(records, () => {
        for (let i = 0; i < records; i++) {
          payload.writeUInt32BE(i, 0);
          q.put(payload);
        }
        q.close();
      }),
    );

    q = DiskQueue.open(options(dir));
    check(q.depth === records, 'depth after reopen');
    series[1]?.push(
      measure(records, () => {
        for (let i = 0; i < records; i++) {
          const record = readNext(q);
          check(record !== undefined && record.readUInt32BE(0) === i, `record ${i}`);
        }
      }),
    );
    check(readNext(q) === undefined && q.depth === 0, 'empty at the end');

    series[2]?.push(
      measure(records, () => {
        for (let i = 0; i < records; i++) {
          payload.writeUInt32BE(i, 0);
          q.put(payload);
          const record = readNext(q);
          check(record !== undefined && record.readUInt32BE(0) === i, `interleaved record ${i}`);
        }
      }),
    );
    q.deleteFiles();

    q = DiskQueue.open(options(dir, { name: 'durable', syncEvery: 1 }));
    series[3]?.push(
      measure(durableRecords, () => {
        for (let i = 0; i < durableRecords; i++) q.put(payload);
      }),
    );
    q.deleteFiles();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11);
console.log(`disk queue, ${PAYLOAD_SIZE}-byte payloads, ${rounds} rounds (msg/s)`);
console.log(`${'phase'.padEnd(40)}${'best'.padStart(11)}${'median'.padStart(11)}`);
for (const [phase, rates] of Object.entries(results)) {
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(`${phase.padEnd(40)}${fmt(sorted[sorted.length - 1] ?? 0)}${fmt(median)}`);
}
