/**
 * A socket with no network under it, for fuzz targets that drive a connection object in-process:
 * the target emits `data`, `end` and `close`, and reads back what the code wrote.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

export class FakeSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 4242;
  destroyed = false;
  ended = false;
  writableLength = 0;
  private paused = false;

  /** As a `net.Socket`, for the code under test. */
  get socket(): Socket {
    return this as unknown as Socket;
  }

  setNoDelay(): this {
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (!this.destroyed) this.written.push(Buffer.from(chunk));
    return true;
  }

  end(chunk?: Buffer | string | (() => void), done?: () => void): this {
    if (typeof chunk === 'function') done = chunk;
    else if (chunk !== undefined) this.write(chunk);
    this.ended = true;
    if (done !== undefined) queueMicrotask(done);
    return this;
  }

  destroySoon(): void {
    this.destroy();
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close', false));
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    return this;
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Resolves once the code under test has closed the socket. */
  closed(): Promise<void> {
    return this.destroyed ? Promise.resolve() : new Promise((resolve) => this.once('close', () => resolve()));
  }
}

/** A pino-like logger that keeps what was logged at error level: the code's own word that it failed. */
export class RecordingLogger {
  readonly errors: Array<{ err: unknown; msg: string }> = [];
  level = 'info';
  child(): this {
    return this;
  }
  error(obj: { err?: unknown }, msg: string): void {
    this.errors.push({ err: obj?.err, msg });
  }
  warn(): void {}
  info(): void {}
  debug(): void {}
  trace(): void {}
}
