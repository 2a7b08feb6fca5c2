/**
 * Lines to a stream in batches: each line is copied into a preallocated buffer that is written
 * once per tick (or when full), instead of two or three writes per message. When the stream asks
 * to wait (a slow reader on the other end of a pipe), `blocked` is a promise for the drain, which
 * a message handler can return to hold its message and so slow delivery down.
 */
import type { Writable } from 'node:stream';

const NEWLINE = 0x0a;

export class BatchedWriter {
  private buffer: Buffer;
  private used = 0;
  private flushScheduled = false;
  private waiting: Promise<void> | undefined;
  private readonly flushSoon = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly stream: Writable,
    private readonly capacity = 64 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Set while the stream wants no more data; resolves at its next `drain`. */
  get blocked(): Promise<void> | undefined {
    return this.waiting;
  }

  /** Queues `prefix`, `body` and a newline. */
  writeLine(prefix: Buffer | undefined, body: Buffer): void {
    const prefixLength = prefix === undefined ? 0 : prefix.length;
    const needed = prefixLength + body.length + 1;
    if (needed > this.capacity - this.used) this.flush();
    // A line bigger than the whole buffer gets a buffer of its own.
    const target = needed > this.capacity ? Buffer.allocUnsafe(needed) : this.buffer;
    let offset = target === this.buffer ? this.used : 0;
    if (prefix !== undefined) offset += prefix.copy(target, offset);
    offset += body.copy(target, offset);
    target[offset++] = NEWLINE;
    if (target !== this.buffer) {
      this.write(target);
      return;
    }
    this.used = offset;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.used === 0) return;
    const out = this.buffer.subarray(0, this.used);
    // The stream may hold `out` until the bytes are sent, so later lines go to a fresh buffer.
    this.buffer = Buffer.allocUnsafe(this.capacity);
    this.used = 0;
    this.write(out);
  }

  /** Flushes and resolves once the stream has taken everything. */
  async end(): Promise<void> {
    this.flush();
    if (this.stream.destroyed || !this.stream.writable) return;
    await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
  }

  private write(chunk: Buffer): void {
    if (this.stream.destroyed) return;
    if (!this.stream.write(chunk) && this.waiting === undefined) {
      this.waiting = new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          this.waiting = undefined;
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }
}
