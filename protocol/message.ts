/**
 * The message payload carried in a message frame (and stored verbatim by the disk queue):
 *
 * ```
 * offset 0   int64  timestamp  nanoseconds since the Unix epoch
 * offset 8   uint16 attempts   delivery count, 1 on first delivery
 * offset 10  16 bytes id       ASCII hex, opaque to clients
 * offset 26  N bytes body
 * ```
 */
import { writeHexId } from './message-id-hex.ts';

export const MESSAGE_HEADER_SIZE = 26;
export const MESSAGE_ID_LENGTH = 16;
/** Where the header's fields start (see the layout above). */
export const MESSAGE_ATTEMPTS_OFFSET = 8;
export const MESSAGE_ID_OFFSET = 10;

const TWO_POW_32 = 4294967296;

/**
 * Timestamps are carried as a JavaScript number of nanoseconds. Beyond 2^53 a double keeps a
 * resolution of 256 ns, far finer than any clock we read, and it avoids a BigInt per message.
 */
export type TimestampNs = number;

/**
 * The wall-clock time at `performance.now() === 0`. `performance.now()` runs on the monotonic clock,
 * which stops while the machine is suspended and ignores NTP steps, so `timeOrigin + now()` alone
 * drifts from the wall clock over a long run (by the whole sleep, on a laptop). {@link nowNs} checks
 * the wall clock and moves the anchor when the two disagree by more than {@link MAX_CLOCK_DRIFT_MS}.
 */
let wallClockAnchorMs = performance.timeOrigin;
let wallClockCheckedAtMs = 0;
/** Above Date.now()'s 1 ms granularity, so the anchor does not jitter in normal running. */
const MAX_CLOCK_DRIFT_MS = 5;
/** How often the wall clock is read: reading it on every call would add a third to the cost of nowNs. */
const CLOCK_CHECK_INTERVAL_MS = 100;

/** Now, in nanoseconds since the Unix epoch (the wall clock, as nsqd's time.Now()), with sub-millisecond resolution. */
export function nowNs(): TimestampNs {
  const sinceStartMs = performance.now();
  // abs: a test that fakes performance.now() may move it backwards; the real one never does.
  if (Math.abs(sinceStartMs - wallClockCheckedAtMs) >= CLOCK_CHECK_INTERVAL_MS) {
    wallClockCheckedAtMs = sinceStartMs;
    const wallMs = Date.now();
    const driftMs = wallMs - (wallClockAnchorMs + sinceStartMs);
    if (driftMs > MAX_CLOCK_DRIFT_MS || driftMs < -MAX_CLOCK_DRIFT_MS) wallClockAnchorMs = wallMs - sinceStartMs;
  }
  return Math.round((wallClockAnchorMs + sinceStartMs) * 1e6);
}

/** Writes the 8-byte big-endian nanosecond timestamp at `offset`; throws RangeError past the end. */
export function writeTimestamp(target: Buffer, offset: number, timestampNs: TimestampNs): void {
  if (offset < 0 || offset + 8 > target.length) throw new RangeError(`timestamp at ${offset} does not fit in ${target.length} bytes`);
  storeTimestamp(target, offset, timestampNs);
}

/**
 * The stores of writeTimestamp, bounds checked by the caller: byte stores, not writeUInt32BE, whose
 * argument checks cost more than the stores on a path taken for every message delivered.
 */
function storeTimestamp(target: Buffer, offset: number, timestampNs: TimestampNs): void {
  const high = Math.floor(timestampNs / TWO_POW_32);
  const low = timestampNs - high * TWO_POW_32;
  target[offset] = high >>> 24;
  target[offset + 1] = high >>> 16;
  target[offset + 2] = high >>> 8;
  target[offset + 3] = high;
  target[offset + 4] = low >>> 24;
  target[offset + 5] = low >>> 16;
  target[offset + 6] = low >>> 8;
  target[offset + 7] = low;
}

export function readTimestamp(source: Buffer, offset: number): TimestampNs {
  return source.readInt32BE(offset) * TWO_POW_32 + source.readUInt32BE(offset + 4);
}

/**
 * The 16 id bytes at `source[offset]` as a latin1 string (one character per byte), as FIN, REQ and
 * TOUCH echo it. From character codes, not `toString('latin1', …)`, whose argument handling and
 * call into C++ cost about 190 ns an id against 65 (a 16-byte id per message read, delivered or
 * finished). Throws RangeError when the 16 bytes are not all inside `source`.
 */
export function readMessageId(source: Buffer, offset: number): string {
  if (offset < 0 || offset + MESSAGE_ID_LENGTH > source.length) throw new RangeError(`a message id at ${offset} does not fit in ${source.length} bytes`);
  const s = source;
  const o = offset;
  return String.fromCharCode(s[o]!, s[o + 1]!, s[o + 2]!, s[o + 3]!, s[o + 4]!, s[o + 5]!, s[o + 6]!, s[o + 7]!, s[o + 8]!, s[o + 9]!, s[o + 10]!, s[o + 11]!, s[o + 12]!, s[o + 13]!, s[o + 14]!, s[o + 15]!);
}

/** Thrown when asked to write a message id that is not exactly 16 latin1 characters. */
export class MessageIdError extends Error {
  override readonly name = 'MessageIdError';
  readonly code = 'E_BAD_MESSAGE_ID';
  constructor(readonly id: string) {
    super(`message id must be ${MESSAGE_ID_LENGTH} bytes, got ${JSON.stringify(id)}`);
  }
}

/**
 * Writes the 26-byte header at `offset` and returns the offset where the body goes. Throws
 * {@link MessageIdError} unless `id` is 16 characters: a shorter one would leave bytes of the
 * (often `allocUnsafe`) target unwritten, sending stale memory as part of the id; RangeError when
 * the header does not fit. Attempts are written modulo 65,536 (a uint16, as nsqd's).
 */
export function writeMessageHeader(
  target: Buffer,
  offset: number,
  timestampNs: TimestampNs,
  attempts: number,
  id: string,
): number {
  if (id.length !== MESSAGE_ID_LENGTH) throw new MessageIdError(id);
  const at = writeHeaderFields(target, offset, timestampNs, attempts);
  for (let i = 0; i < MESSAGE_ID_LENGTH; i++) target[at + i] = id.charCodeAt(i);
  return offset + MESSAGE_HEADER_SIZE;
}

/**
 * {@link writeMessageHeader} for an id kept as its two halves (message-id-hex.ts): the same 26 bytes,
 * with no string. Throws RangeError when the header does not fit.
 */
export function writeMessageHeaderHex(target: Buffer, offset: number, timestampNs: TimestampNs, attempts: number, idHigh: number, idLow: number): number {
  writeHexId(target, writeHeaderFields(target, offset, timestampNs, attempts), idHigh, idLow);
  return offset + MESSAGE_HEADER_SIZE;
}

/** The header's timestamp and attempts at `offset`; returns where the id goes. Throws RangeError when the header does not fit. */
function writeHeaderFields(target: Buffer, offset: number, timestampNs: TimestampNs, attempts: number): number {
  if (offset < 0 || offset + MESSAGE_HEADER_SIZE > target.length) {
    throw new RangeError(`a message header at ${offset} does not fit in ${target.length} bytes`);
  }
  // Byte stores and a loop, not writeUInt16BE or target.write(id, …, 'latin1'): their argument
  // handling cost more than the stores (about 90 ns a header against 55), on a path taken for
  // every message delivered or written to disk.
  storeTimestamp(target, offset, timestampNs);
  target[offset + MESSAGE_ATTEMPTS_OFFSET] = attempts >>> 8;
  target[offset + MESSAGE_ATTEMPTS_OFFSET + 1] = attempts;
  return offset + MESSAGE_ID_OFFSET;
}

/** A message payload as one buffer: the disk queue's record and a test's expectation. */
export function encodeMessagePayload(timestampNs: TimestampNs, attempts: number, id: string, body: Buffer): Buffer {
  const payload = Buffer.allocUnsafe(MESSAGE_HEADER_SIZE + body.length);
  writeMessageHeader(payload, 0, timestampNs, attempts, id);
  body.copy(payload, MESSAGE_HEADER_SIZE);
  return payload;
}

export interface DecodedMessage {
  timestampNs: TimestampNs;
  attempts: number;
  /** The 16 id bytes as a latin1 string: echoed back verbatim in FIN, REQ and TOUCH. */
  id: string;
  /** A slice of `payload`, not a copy. */
  body: Buffer;
  /**
   * The payload the fields were read from. The int64 timestamp in it is exact; `timestampNs` (a
   * double) is rounded to 256 ns, which is fine for arithmetic but not for echoing the value on.
   */
  payload?: Buffer;
}

export class MessageDecodeError extends Error {
  override readonly name = 'MessageDecodeError';
  readonly code = 'E_BAD_MESSAGE_PAYLOAD';
}

/** Throws {@link MessageDecodeError} if `payload` is shorter than the 26-byte message header. */
export function checkMessagePayload(payload: Buffer): void {
  if (payload.length < MESSAGE_HEADER_SIZE) {
    throw new MessageDecodeError(`message payload of ${payload.length} bytes is shorter than the 26-byte header`);
  }
}

/** Decodes a message payload; throws {@link MessageDecodeError} if it is shorter than the header. */
export function decodeMessagePayload(payload: Buffer): DecodedMessage {
  checkMessagePayload(payload);
  return {
    timestampNs: readTimestamp(payload, 0),
    attempts: payload.readUInt16BE(MESSAGE_ATTEMPTS_OFFSET),
    id: readMessageId(payload, MESSAGE_ID_OFFSET),
    body: payload.subarray(MESSAGE_HEADER_SIZE),
    payload,
  };
}
