/**
 * A connection's outgoing bytes: frames are appended into one buffer and written to the socket in
 * one call per event-loop turn (or sooner when the buffer reaches the client's negotiated size).
 * Batching per turn gives nsqd's throughput without its output-buffer-timeout latency: a message is
 * written as soon as the work that produced it is done.
 */
import { FRAME_HEADER_SIZE, FrameType, writeFrameHeader } from '../../protocol/frames.ts';
import { MESSAGE_HEADER_SIZE } from '../../protocol/message.ts';
import { groupCommit } from './group-commit.ts';
import type { BrokerMessage } from './message.ts';

/** Writes smaller than this are copied out so the big buffer can be reused. */
const COPY_OUT_LIMIT = 4096;

/** Where flushed bytes go: the socket, or the connection's TLS/compression transport above it. */
export interface ByteSink {
  write(chunk: Buffer): unknown;
  readonly destroyed: boolean;
  /** Bytes accepted and not yet handed to the kernel (a Writable's writableLength). */
  readonly writableLength: number;
}

const pendingFlush: OutputBuffer[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  // New flushes scheduled while flushing land in the next turn's batch.
  const batch = pendingFlush.splice(0);
  for (const output of batch) output.flush();
}

export class OutputBuffer {
  private buffer: Buffer;
  private length = 0;
  private scheduled = false;

  constructor(
    private readonly socket: ByteSink,
    /** Flush as soon as this many bytes are waiting (the negotiated output_buffer_size). */
    public flushThreshold: number,
    private readonly capacity = 65536,
  ) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  appendMessage(message: BrokerMessage): void {
    const bodyLength = message.bodyLength;
    const dataLength = MESSAGE_HEADER_SIZE + bodyLength;
    this.reserve(FRAME_HEADER_SIZE + dataLength);
    const offset = writeFrameHeader(this.buffer, this.length, FrameType.Message, dataLength);
    this.length = message.writePayload(this.buffer, offset);
    this.afterAppend();
  }

  appendFrame(type: number, data: string | Buffer): void {
    const dataLength = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.reserve(FRAME_HEADER_SIZE + dataLength);
    const offset = writeFrameHeader(this.buffer, this.length, type as FrameType, dataLength);
    this.length = offset + (typeof data === 'string' ? this.buffer.write(data, offset) : data.copy(this.buffer, offset));
    this.afterAppend();
  }

  /**
   * A frame encoded once for every connection (the heartbeat): straight to the socket when nothing
   * waits, with no copy and no flush to schedule; behind what waits otherwise.
   */
  writeShared(frame: Buffer): void {
    if (this.length > 0) {
      this.reserve(frame.length);
      this.length += frame.copy(this.buffer, this.length);
      this.afterAppend();
    } else if (!this.socket.destroyed) {
      this.socket.write(frame);
    }
  }

  /** Writes what is waiting to the socket now. */
  flush(): void {
    this.scheduled = false;
    // Sync mode: an OK in this buffer may stand for a write not yet fsynced; it never leaves first.
    groupCommit.commitIfPending();
    if (this.length === 0 || this.socket.destroyed) {
      this.length = 0;
      return;
    }
    if (this.length <= COPY_OUT_LIMIT && this.socket.writableLength > 0) {
      // Queued behind earlier bytes: a small copy lets the big buffer stay.
      this.socket.write(Buffer.from(this.buffer.subarray(0, this.length)));
    } else {
      this.socket.write(this.buffer.subarray(0, this.length));
      // Nothing pending: the write went through to the kernel at once (libuv tries it before
      // queueing), so the buffer is free again. Otherwise the socket holds on to these bytes
      // until they are sent: start afresh. Reuse saves a 64 KiB allocation per flush, which at
      // a draining consumer's rate was most of the broker's garbage collection.
      if (this.socket.writableLength > 0) this.buffer = Buffer.allocUnsafe(this.capacity);
    }
    this.length = 0;
  }

  /** Drops what is waiting (the connection is being dropped without it). */
  discard(): void {
    this.length = 0;
  }

  private afterAppend(): void {
    if (this.length >= this.flushThreshold) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      pendingFlush.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    if (this.length > 0) this.flush();
    if (bytes > this.buffer.length) this.buffer = Buffer.allocUnsafe(bytes);
  }
}
