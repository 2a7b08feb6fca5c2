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
 * turn of the event loop while the reader is taking them (a pipe takes 64 KiB at a time: at one
 * pipeful per {@link RETRY_MS} a reader back at work would get 3 MB/s); past
 * {@link MAX_WAITING_BYTES} new lines are dropped and counted, and the count is logged once lines
 * flow again. With the reader gone (EPIPE, or any other write error) lines are dropped. At exit,
 * what waits is written as the pipe takes it, for up to {@link EXIT_WAIT_MS}.
 */
import { writeSync } from 'node:fs';

/** Most bytes of log lines held while the reader is behind; later lines are dropped (and counted). */
export const MAX_WAITING_BYTES = 8 * 1024 * 1024;
/** How often lines held for a full pipe are tried again, ms. */
export const RETRY_MS = 20;
/** How long the exit waits for a full pipe to take the lines held, ms. */
export const EXIT_WAIT_MS = 2000;
/** For a synchronous sleep at exit, when the event loop has stopped. */
const EXIT_SLEEP = new Int32Array(new SharedArrayBuffer(4));

export class LogDestination {
  private readonly waiting: Buffer[] = [];
  private waitingBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  private gone = false;
  private dropped = 0;

  constructor(private readonly fd: number) {
    process.once('exit', () => this.writeWaitingAtExit());
  }

  /** pino's destination interface: one serialized line (with its newline). */
  write(line: string): void {
    if (this.gone) return;
    if (this.waiting.length > 0) {
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
    this.waiting.length = 0;
    this.waitingBytes = 0;
    clearTimeout(this.retry);
  }

  private writeWaiting(): void {
    this.retry = undefined;
    const before = this.waitingBytes;
    if (!this.flushWaiting()) {
      if (!this.gone) this.retry = setTimeout(() => this.writeWaiting(), this.waitingBytes < before ? 0 : RETRY_MS).unref();
      return;
    }
    if (this.dropped > 0) {
      const dropped = this.dropped;
      this.dropped = 0;
      this.write(`${JSON.stringify({ level: 40, time: Date.now(), msg: `${dropped} log lines dropped: standard output was not read` })}\n`);
    }
  }

  /** Writes what waits, in order, until the pipe is full; true when nothing waits any more. */
  private flushWaiting(): boolean {
    while (this.waiting.length > 0) {
      const chunk = this.waiting[0]!;
      let written: number;
      try {
        written = writeSync(this.fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') this.failed(error, chunk);
        return false;
      }
      this.waitingBytes -= written;
      if (written < chunk.length) {
        this.waiting[0] = chunk.subarray(written);
        return false;
      }
      this.waiting.shift();
    }
    return true;
  }

  /**
   * At exit: what waits is written as the pipe takes it, for up to {@link EXIT_WAIT_MS} (a reader that
   * is only slow gets the last lines, the shutdown's among them); a reader that does not read in that
   * time does not hold the exit, and the rest is lost.
   */
  private writeWaitingAtExit(): void {
    clearTimeout(this.retry);
    const deadline = Date.now() + EXIT_WAIT_MS;
    for (let before = this.waitingBytes; !this.gone && !this.flushWaiting() && Date.now() < deadline; before = this.waitingBytes) {
      Atomics.wait(EXIT_SLEEP, 0, 0, this.waitingBytes < before ? 1 : RETRY_MS);
    }
  }
}
