/**
 * Where the process's JSON log lines go: a file descriptor (standard output), each line written at
 * once while its reader keeps up, without blocking the event loop when the reader falls behind, and
 * without holding the process at exit when the reader has gone.
 *
 * pino's own destination (sonic-boom) does neither of the last two. Asynchronous, it flushes at exit
 * with flushSync, which retries a failed write every 100 ms whatever the error: with the log's reader
 * gone (EPIPE) a process stopped by SIGTERM never exited. Synchronous, a pipe its reader left full
 * (EAGAIN) blocked the process 100 ms at a time: a broker whose log pipe was not read stopped
 * answering HTTP for seconds at a time.
 *
 * Lines wait in memory while the pipe is full, tried again every {@link RETRY_MS}, or on the next
 * turn of the event loop (at most {@link MAX_BYTES_PER_RETRY} a turn) while the reader is taking them
 * (a pipe takes 64 KiB at a time: at one pipeful per {@link RETRY_MS} a reader back at work would get
 * 3 MB/s). Past {@link MAX_WAITING_BYTES} new lines are dropped and counted, and the count is logged
 * once lines flow again. With the reader gone (EPIPE, or any other write error) lines are dropped. At exit,
 * what waits is written as the pipe takes it, for up to {@link EXIT_WAIT_MS}, then the count of lines
 * dropped if there is one.
 */
import { writeSync } from 'node:fs';

/** Most bytes of log lines held while the reader is behind; later lines are dropped (and counted). */
export const MAX_WAITING_BYTES = 8 * 1024 * 1024;
/** How often lines held for a full pipe are tried again, ms. */
export const RETRY_MS = 20;
/** How long the exit waits for a full pipe to take the lines held, ms. */
export const EXIT_WAIT_MS = 2000;
/**
 * Most bytes written in one retry: a reader as fast as we are would otherwise keep one retry writing
 * for as long as lines wait, and the event loop with it.
 */
const MAX_BYTES_PER_RETRY = 256 * 1024;
/** What a written line's place in the queue holds until the queue is emptied. */
const EMPTY_CHUNK = Buffer.alloc(0);
/** For a synchronous sleep at exit, when the event loop has stopped. */
const EXIT_SLEEP = new Int32Array(new SharedArrayBuffer(4));

export class LogDestination {
  /** Lines held, oldest at `first`: an index, not shift(), which copies an array of 100,000 short lines each time. */
  private waiting: Buffer[] = [];
  private first = 0;
  private waitingBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  private gone = false;
  private dropped = 0;

  constructor(private readonly fd: number) {
    // Node makes standard output non-blocking (for a pipe) only once process.stdout is made: without
    // it a full pipe blocked writeSync, and the process, until its reader read.
    if (fd === 1) void process.stdout;
    process.once('exit', () => this.writeWaitingAtExit());
  }

  /** pino's destination interface: one serialized line (with its newline). */
  write(line: string): void {
    if (this.gone) return;
    if (this.first < this.waiting.length) {
      this.hold(Buffer.from(line));
      return;
    }
    let written: number;
    try {
      written = writeSync(this.fd, line);
    } catch (error) {
      this.failed(error, Buffer.from(line));
      return;
    }
    const length = Buffer.byteLength(line);
    if (written < length) this.hold(Buffer.from(line).subarray(written));
  }

  private hold(chunk: Buffer): void {
    if (this.waitingBytes + chunk.length > MAX_WAITING_BYTES) {
      this.dropped++;
      return;
    }
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    // Unref'd: lines waiting for a reader never keep a process alive that is otherwise done.
    this.retry ??= setTimeout(() => this.writeWaiting(), RETRY_MS).unref();
  }

  /** A write error: a full pipe (EAGAIN) keeps the line for later; anything else ends the log. */
  private failed(error: unknown, chunk: Buffer): void {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
      this.hold(chunk);
      return;
    }
    this.gone = true;
    this.waiting = [];
    this.first = 0;
    this.waitingBytes = 0;
    clearTimeout(this.retry);
  }

  private writeWaiting(): void {
    this.retry = undefined;
    const before = this.waitingBytes;
    if (!this.flushWaiting(MAX_BYTES_PER_RETRY)) {
      if (!this.gone) this.retry = setTimeout(() => this.writeWaiting(), this.waitingBytes < before ? 0 : RETRY_MS).unref();
      return;
    }
    if (this.dropped > 0) this.write(this.droppedLine());
  }

  /** The line that says how many lines were dropped since it was last said; the count starts again. */
  private droppedLine(): string {
    const dropped = this.dropped;
    this.dropped = 0;
    return `${JSON.stringify({ level: 40, time: Date.now(), msg: `${dropped} log lines dropped: standard output was not read` })}\n`;
  }

  /**
   * Writes what waits, in order, until the pipe is full or `budget` bytes are written; true when
   * nothing waits any more.
   */
  private flushWaiting(budget = Number.POSITIVE_INFINITY): boolean {
    let left = budget;
    while (this.first < this.waiting.length && left > 0) {
      const chunk = this.waiting[this.first]!;
      let written: number;
      try {
        written = writeSync(this.fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') this.failed(error, chunk);
        return false;
      }
      this.waitingBytes -= written;
      left -= written;
      if (written < chunk.length) {
        this.waiting[this.first] = chunk.subarray(written);
        return false;
      }
      this.waiting[this.first++] = EMPTY_CHUNK;
    }
    if (this.first === this.waiting.length) {
      this.waiting = [];
      this.first = 0;
      return true;
    }
    // A reader that stays behind: the lines written leave the queue now and then, not one by one.
    if (this.first >= 1024 && this.first * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.first);
      this.first = 0;
    }
    return false;
  }

  /**
   * At exit: what waits is written as the pipe takes it, for up to {@link EXIT_WAIT_MS} (a reader that
   * is only slow gets the last lines, the shutdown's among them), then the count of lines dropped. A
   * reader that does not read in that time does not hold the exit: the rest is lost, and standard
   * error says how many lines (for standard output's destination), where a person may see it.
   */
  private writeWaitingAtExit(): void {
    clearTimeout(this.retry);
    const deadline = Date.now() + EXIT_WAIT_MS;
    for (let before = this.waitingBytes; !this.gone && !this.flushWaiting() && Date.now() < deadline; before = this.waitingBytes) {
      Atomics.wait(EXIT_SLEEP, 0, 0, this.waitingBytes < before ? 1 : RETRY_MS);
    }
    if (this.gone) return;
    const unwritten = this.waiting.length - this.first;
    try {
      if (unwritten === 0 && this.dropped > 0) writeSync(this.fd, this.droppedLine());
      else if (unwritten > 0 && this.fd === 1) {
        writeSync(2, `nsqworker: ${unwritten + this.dropped} log lines not written at exit: standard output was not read for ${EXIT_WAIT_MS / 1000} s\n`);
      }
    } catch {
      // Full or gone at the very end as well: the count is lost with the lines.
    }
  }
}
