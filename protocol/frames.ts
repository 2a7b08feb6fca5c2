/**
 * Length-prefixed frames: nsqd's `[int32 size][int32 frame_type][data]` and nsqlookupd's
 * `[int32 size][data]`. Encoding writes into preallocated buffers; decoding is incremental and
 * slices frames out of the received chunks without copying whenever a frame lies in one chunk.
 */

export const FrameType = {
  Response: 0,
  Error: 1,
  Message: 2,
} as const;

export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Bytes before a frame's data: the size word and the frame type word. */
export const FRAME_HEADER_SIZE = 8;

/** Writes a frame header at `offset`; the caller writes `dataLength` bytes of data after it. */
export function writeFrameHeader(target: Buffer, offset: number, type: FrameType, dataLength: number): number {
  target.writeInt32BE(dataLength + 4, offset);
  target.writeInt32BE(type, offset + 4);
  return offset + FRAME_HEADER_SIZE;
}

/** A whole frame as one new buffer. For the rare frames (responses, errors) off the hot path. */
export function encodeFrame(type: FrameType, data: Buffer | string): Buffer {
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + length);
  writeFrameHeader(frame, 0, type, length);
  if (typeof data === 'string') frame.write(data, FRAME_HEADER_SIZE);
  else data.copy(frame, FRAME_HEADER_SIZE);
  return frame;
}

/** An nsqlookupd reply: `[int32 size][data]`, with no frame-type word. */
export function encodeSizedPayload(data: Buffer | string): Buffer {
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeInt32BE(length, 0);
  if (typeof data === 'string') frame.write(data, 4);
  else data.copy(frame, 4);
  return frame;
}

/** "HTTP" read as a size word: the classic symptom of pointing a client at an HTTP port. */
const HTTP_AS_SIZE = 1213486160;

/** "E_BA" read as a frame-type word: the start of nsqlookupd's E_BAD_PROTOCOL. */
const E_BA_AS_TYPE = 0x455f4241;

/**
 * Whether a frame read during the V2 handshake is nsqlookupd's refusal of it: lookupd answers a
 * protocol it does not speak with a sized "E_BAD_PROTOCOL" and no frame type (nsq's
 * internal/protocol/tcp_server.go), so the type word holds its first four letters.
 */
export function isLookupdRefusal(type: number, data: Buffer): boolean {
  return type === E_BA_AS_TYPE && data.toString('latin1') === 'D_PROTOCOL';
}

/** Whether `error`, or an error it was caused by, is a {@link FrameSizeError} of an HTTP response. */
export function isHttpResponseError(error: unknown): boolean {
  for (let depth = 0; error instanceof Error && depth < 8; error = error.cause, depth++) {
    if (error instanceof FrameSizeError && error.size === HTTP_AS_SIZE) return true;
  }
  return false;
}

/** Thrown by a decoder when a size word is negative or beyond the configured limit. */
export class FrameSizeError extends Error {
  override readonly name = 'FrameSizeError';
  readonly code = 'E_FRAME_SIZE';
  constructor(
    readonly size: number,
    readonly limit: number,
    /** The smallest valid size: 0 for a sized payload, 4 for an nsqd frame (it must hold its type word). */
    readonly min: number = 0,
  ) {
    super(
      size === HTTP_AS_SIZE
        ? 'received an HTTP response: this address is an HTTP port, not an NSQ TCP port'
        : `frame size ${size} is outside ${min}..${limit}`,
    );
  }
}

/**
 * Splits a byte stream into `[int32 size][payload]` units. A payload that arrives whole inside one
 * chunk is handed on as a slice of that chunk; one that spans chunks is gathered into a buffer
 * allocated once at its final size, so a large frame costs one copy, never a concat per chunk.
 */
export class SizedPayloadDecoder {
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeFilled = 0;
  private pending: Buffer | undefined;
  private pendingFilled = 0;
  private divertTo: ((rest: Buffer) => void) | undefined;

  constructor(
    private readonly onPayload: (payload: Buffer) => void,
    private readonly maxPayloadSize: number = 0x7fffffff,
  ) {}

  /** Feeds one chunk; calls `onPayload` for every complete payload, in order. */
  push(chunk: Buffer): void {
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.pending !== undefined) {
        const need = this.pending.length - this.pendingFilled;
        const take = Math.min(need, end - offset);
        chunk.copy(this.pending, this.pendingFilled, offset, offset + take);
        this.pendingFilled += take;
        offset += take;
        if (this.pendingFilled === this.pending.length) {
          const payload = this.pending;
          this.pending = undefined;
          // Reset before the callback, or bufferedBytes would keep reporting the finished payload.
          this.pendingFilled = 0;
          this.deliver(payload, 0, payload.length);
          if (this.divertTo !== undefined) return this.takeDiverted(chunk, offset);
        }
        continue;
      }
      let size: number;
      if (this.sizeFilled === 0 && end - offset >= 4) {
        size = chunk.readInt32BE(offset);
        offset += 4;
      } else {
        while (this.sizeFilled < 4 && offset < end) this.sizeBytes[this.sizeFilled++] = chunk[offset++]!;
        if (this.sizeFilled < 4) return;
        this.sizeFilled = 0;
        size = this.sizeBytes.readInt32BE(0);
      }
      if (size < 0 || size > this.maxPayloadSize) throw new FrameSizeError(size, this.maxPayloadSize);
      if (end - offset >= size) {
        const start = offset;
        offset += size;
        this.deliver(chunk, start, offset);
        if (this.divertTo !== undefined) return this.takeDiverted(chunk, offset);
      } else {
        this.pending = Buffer.allocUnsafe(size);
        this.pendingFilled = 0;
      }
    }
  }

  /**
   * Called from a payload callback: the rest of the chunk being decoded is not decoded but handed to
   * `onRest` (a copy; not called when nothing is left). For a stream that changes encoding after a
   * frame (nsqd's TLS, snappy or deflate upgrade), whose next bytes belong to the new layer.
   */
  divert(onRest: (rest: Buffer) => void): void {
    this.divertTo = onRest;
  }

  private takeDiverted(chunk: Buffer, offset: number): void {
    const onRest = this.divertTo!;
    this.divertTo = undefined;
    if (offset < chunk.length) onRest(Buffer.from(chunk.subarray(offset)));
  }

  /** Bytes of a partial unit held between chunks. */
  get bufferedBytes(): number {
    return this.sizeFilled + this.pendingFilled;
  }

  /**
   * Hands on the payload at `source[start, end)`. Passing bounds rather than a slice lets
   * {@link FrameDecoder} cut its data straight out of the chunk: one `subarray` per frame, not two.
   */
  protected deliver(source: Buffer, start: number, end: number): void {
    this.onPayload(start === 0 && end === source.length ? source : source.subarray(start, end));
  }
}

/** A decoded nsqd frame. `data` may be a slice of a received chunk: copy it to keep it past the callback. */
export interface Frame {
  type: number;
  data: Buffer;
}

/**
 * Decodes nsqd's server frames from a byte stream. A frame shorter than its type word is an error;
 * the frame type is passed on unchecked, so the caller decides what an unknown type means.
 */
export class FrameDecoder extends SizedPayloadDecoder {
  private readonly onFrame: (type: number, data: Buffer) => void;
  private readonly maxFrameSize: number;

  constructor(onFrame: (type: number, data: Buffer) => void, maxFrameSize: number = 0x7fffffff) {
    super(noPayload, maxFrameSize);
    this.onFrame = onFrame;
    this.maxFrameSize = maxFrameSize;
  }

  protected override deliver(source: Buffer, start: number, end: number): void {
    if (end - start < 4) throw new FrameSizeError(end - start, this.maxFrameSize, 4);
    this.onFrame(source.readInt32BE(start), source.subarray(start + 4, end));
  }
}

/** FrameDecoder overrides delivery, so the payload callback of its base is never called. */
function noPayload(): void {}
