/**
 * The log destination against a real pipe whose reader stops reading: a named pipe opened
 * non-blocking at both ends, as a supervisor's log pipe is from the process's side. Lines past
 * MAX_WAITING_BYTES are dropped, and the count said once the reader reads again.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { LogDestination, MAX_WAITING_BYTES, RETRY_MS } from '../../runner/ops/log-destination.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A named pipe in a temp folder: its read and write ends, both non-blocking. */
function pipe(): { readFd: number; writeFd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'nsqworker-log-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'log');
  execFileSync('mkfifo', [path]);
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  cleanups.push(() => closeSync(readFd));
  const writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  cleanups.push(() => closeSync(writeFd));
  return { readFd, writeFd };
}

/** Reads what the pipe holds now; '' when it is empty. */
function readNow(fd: number): string {
  const buffer = Buffer.alloc(1 << 20);
  let text = '';
  for (;;) {
    let read: number;
    try {
      read = readSync(fd, buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw error;
    }
    if (read === 0) return text;
    text += buffer.toString('utf8', 0, read);
  }
}

it('holds lines up to its limit while the pipe is full, drops the rest, and says how many once read', async () => {
  const { readFd, writeFd } = pipe();
  const destination = new LogDestination(writeFd);
  // 1 KiB lines, numbered: 10 MiB of them, more than the pipe and the limit together take.
  const total = 10_240;
  const line = (n: number): string => `${JSON.stringify({ n, pad: 'x'.repeat(1000 - String(n).length) })}\n`;
  for (let n = 0; n < total; n++) destination.write(line(n));

  // The reader reads again: lines come in order, whole, then the count of those dropped.
  let text = '';
  const deadline = Date.now() + 10_000;
  // The count is one short write, whole in one read: looked for in each read, not in all read so far.
  for (let chunk = ''; !chunk.includes('log lines dropped'); text += chunk) {
    if (Date.now() > deadline) throw new Error(`no count of dropped lines after ${text.length} bytes`);
    chunk = readNow(readFd);
    // A reader at work, as `cat` or a supervisor's is: it reads again as soon as it can.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const lines = text.trimEnd().split('\n');
  const counted = JSON.parse(lines.pop()!) as { level: number; msg: string };
  const kept = lines.map((kept) => (JSON.parse(kept) as { n: number }).n);
  expect(kept).toEqual([...Array(kept.length).keys()]);
  expect(counted.level).toBe(40);
  expect(counted.msg).toBe(`${total - kept.length} log lines dropped: standard output was not read`);
  // What was kept is what the pipe took before the reader stopped, and at most the limit besides.
  const keptBytes = kept.reduce((sum, n) => sum + Buffer.byteLength(line(n)), 0);
  expect(keptBytes).toBeGreaterThan(MAX_WAITING_BYTES - 1024);
  expect(keptBytes).toBeLessThanOrEqual(MAX_WAITING_BYTES + (1 << 20));
  expect(total - kept.length).toBeGreaterThan(0);

  // Nothing waits any more: a later line goes straight through.
  destination.write(line(total));
  expect(readNow(readFd)).toBe(line(total));
});

it('writes a line longer than the pipe holds in parts, whole and in order with the lines around it', async () => {
  const { readFd, writeFd } = pipe();
  const destination = new LogDestination(writeFd);
  // 200 KiB: a pipe takes 64 KiB, so the line is written in parts and its rest held between them.
  const long = `${'y'.repeat(200 * 1024)}\n`;
  destination.write('before\n');
  destination.write(long);
  destination.write('after\n');
  let text = '';
  const deadline = Date.now() + 10_000;
  while (!text.endsWith('after\n')) {
    if (Date.now() > deadline) throw new Error(`the lines did not all come: ${text.length} bytes`);
    text += readNow(readFd);
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(text).toBe(`before\n${long}after\n`);
});

it('gives a reader that reads again the lines held at its pace, not one pipeful per retry', () => {
  // On a fake clock, so that what is counted is the destination's waits, not this machine's speed.
  vi.useFakeTimers();
  cleanups.push(() => vi.useRealTimers());
  const { readFd, writeFd } = pipe();
  const destination = new LogDestination(writeFd);
  const line = `${'z'.repeat(1023)}\n`;
  for (let n = 0; n < 4096; n++) destination.write(line); // 4 MiB held: 64 pipefuls
  let read = 0;
  let elapsedMs = 0;
  while (read < 4096 * line.length) {
    read += Buffer.byteLength(readNow(readFd));
    vi.advanceTimersByTime(1);
    if (++elapsedMs > 64 * RETRY_MS) throw new Error(`${read} bytes read after ${elapsedMs} ms of retries`);
  }
  // A retry that wrote something comes again on the next turn: about 1 ms a pipeful, not RETRY_MS.
  expect(elapsedMs).toBeLessThan(64 * 2);
});
