import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskQueue } from '../../broker/nsqd/disk-queue.ts';
import { readNext } from '../support/disk-queue-records.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const queueModuleUrl = pathToFileURL(path.join(repoRoot, 'broker/nsqd/disk-queue.ts')).href;

let dir: string;
let children: ChildProcess[];
let opened: DiskQueue[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dq-crash-'));
  children = [];
  opened = [];
});

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const q of opened) {
    try {
      q.close();
    } catch {
      // already closed
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const QUEUE_OPTIONS = {
  name: 'crash:test',
  maxBytesPerFile: 4096, // rolls every few dozen records
  minMsgSize: 26,
  maxMsgSize: 1024,
  syncTimeoutMs: 60_000,
};

/**
 * A child that puts records carrying their sequence number, in batches of a few per tick, and
 * prints `put <seq>` once a record is safe by the queue's contract:
 * - durable (syncEvery 1): as soon as put returns;
 * - batched: at the end of the tick in which it was put, after the write buffer's flush (the
 *   flush was scheduled by the batch's first put, so it runs before this callback).
 */
function childScript(dataPath: string, syncEvery: number): string {
  return `
import { DiskQueue } from ${JSON.stringify(queueModuleUrl)};
const options = ${JSON.stringify({ ...QUEUE_OPTIONS, dataPath, syncEvery })};
const q = DiskQueue.open(options);
const durable = options.syncEvery <= 1;
let seq = 0;
function batch() {
  const first = seq;
  for (let k = 0; k < 7; k++) {
    const payload = Buffer.alloc(26 + ((seq * 37) % 200), seq & 0xff);
    payload.writeUInt32BE(seq, 0);
    q.put(payload);
    if (durable) process.stdout.write('put ' + seq + '\\n');
    seq++;
  }
  const last = seq - 1;
  setImmediate(() => {
    if (!durable) for (let s = first; s <= last; s++) process.stdout.write('put ' + s + '\\n');
    setImmediate(batch);
  });
}
batch();
`;
}

/** Runs the child until it has reported at least `atLeast` records, SIGKILLs it, returns the last reported. */
async function runAndKill(syncEvery: number, atLeast: number): Promise<number> {
  const script = path.join(dir, 'put-forever.mjs');
  fs.writeFileSync(script, childScript(path.join(dir, 'data'), syncEvery));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let lastReported = -1;
  let killed = false;
  const lines = readline.createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const match = /^put (\d+)$/.exec(line);
    if (!match) continue;
    lastReported = Number(match[1]);
    if (lastReported + 1 >= atLeast && !killed) killed = child.kill('SIGKILL');
  }
  await exited;
  expect(child.signalCode, `child stderr: ${stderr}`).toBe('SIGKILL');
  return lastReported;
}

function expectRecoveredInOrder(lastReported: number): void {
  const q = DiskQueue.open({ ...QUEUE_OPTIONS, dataPath: path.join(dir, 'data'), syncEvery: 2500 });
  opened.push(q);
  expect(q.depth).toBeGreaterThanOrEqual(lastReported + 1);
  let expected = 0;
  for (let r = readNext(q); r !== undefined; r = readNext(q)) {
    expect(r.readUInt32BE(0)).toBe(expected);
    expect(r.length).toBe(26 + ((expected * 37) % 200));
    expect(r[r.length - 1]).toBe(expected & 0xff);
    expected++;
  }
  // Every reported record came back, in order; records put but not yet reported may follow.
  expect(expected).toBeGreaterThanOrEqual(lastReported + 1);
  expect(q.depth).toBe(0);
}

describe('DiskQueue after kill -9', () => {
  it('syncEvery=1: every record whose put returned is there, in order', async () => {
    const lastReported = await runAndKill(1, 300);
    expect(lastReported).toBeGreaterThanOrEqual(299);
    expectRecoveredInOrder(lastReported);
  });

  it('batched: every record flushed at the end of its tick is there, though the metadata was not saved', async () => {
    const lastReported = await runAndKill(2500, 2000);
    expect(fs.readdirSync(path.join(dir, 'data')).some((f) => f.endsWith('.meta.dat'))).toBe(true); // saved on rolls only
    expectRecoveredInOrder(lastReported);
  });
});
