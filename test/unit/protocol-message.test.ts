import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameType, encodeFrame, writeFrameHeader } from '../../protocol/frames.ts';
import {
  MESSAGE_HEADER_SIZE,
  MESSAGE_ID_LENGTH,
  MessageDecodeError,
  MessageIdError,
  decodeMessagePayload,
  encodeMessagePayload,
  nowNs,
  readTimestamp,
  writeMessageHeader,
  writeTimestamp,
} from '../../protocol/message.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ID = '0123456789abcdef';

/** The int64 big-endian bytes of a timestamp, computed exactly with BigInt. */
function int64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(value);
  return out;
}

function written(timestampNs: number): Buffer {
  const out = Buffer.alloc(8);
  writeTimestamp(out, 0, timestampNs);
  return out;
}

describe('timestamps', () => {
  it('are written as big-endian int64 nanoseconds', () => {
    expect(written(0)).toEqual(hex('0000000000000000'));
    expect(written(1)).toEqual(hex('0000000000000001'));
    expect(written(2 ** 32 - 1)).toEqual(hex('00000000ffffffff'));
    expect(written(2 ** 32)).toEqual(hex('0000000100000000'));
    expect(written(2 ** 53 - 1)).toEqual(hex('001fffffffffffff'));
    expect(written(-1)).toEqual(hex('ffffffffffffffff'));
    expect(written(-(2 ** 32))).toEqual(hex('ffffffff00000000'));
  });

  it('beyond 2^53 write exactly the integer the double holds', () => {
    // A real nsqd timestamp: 2023-11-14T22:13:20.123456789Z is past 2^60, so a double keeps it to 256 ns.
    for (const value of [2 ** 53, 2 ** 53 + 2, 1_700_000_000_123_456_789, 2 ** 62 + 2 ** 40 + 1024, 2 ** 63 - 1024]) {
      expect(written(value), String(value)).toEqual(int64(BigInt(value)));
    }
  });

  it('round-trip through write and read', () => {
    for (const value of [0, 1, 255, 2 ** 31, 2 ** 32 + 7, 2 ** 53 - 1, 1_700_000_000_123_456_789, -1, -(2 ** 40) + 3, -(2 ** 63)]) {
      expect(readTimestamp(written(value), 0), String(value)).toBe(value);
    }
  });

  it('read any int64 as the nearest double, as Number(bigint) rounds', () => {
    let seed = 0x9e3779b97f4a7c15n;
    for (let i = 0; i < 2000; i++) {
      // xorshift64: deterministic int64 values across the whole range.
      seed ^= (seed << 13n) & 0xffffffffffffffffn;
      seed ^= seed >> 7n;
      seed ^= (seed << 17n) & 0xffffffffffffffffn;
      const value = BigInt.asIntN(64, seed);
      expect(readTimestamp(int64(value), 0), String(value)).toBe(Number(value));
    }
  });

  it('read and write at an offset without touching the bytes around', () => {
    const target = Buffer.alloc(12, 0xee);
    writeTimestamp(target, 2, 0x0102030405060700);
    expect(target).toEqual(hex('eeee 0102030405060700 eeee'));
    expect(readTimestamp(target, 2)).toBe(0x0102030405060700);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('nowNs follows the wall clock when it parts from the monotonic clock (suspend, NTP step)', () => {
    const realNow = performance.now();
    const realWall = Date.now();
    // The machine slept an hour: the wall clock moved on, performance.now() (monotonic) barely did.
    vi.spyOn(performance, 'now').mockReturnValue(realNow + 200);
    vi.spyOn(Date, 'now').mockReturnValue(realWall + 3_600_000);
    expect(Math.abs(nowNs() / 1e6 - (realWall + 3_600_000))).toBeLessThan(5);
    // And back, after an NTP step of the same size.
    vi.spyOn(performance, 'now').mockReturnValue(realNow + 400);
    vi.spyOn(Date, 'now').mockReturnValue(realWall);
    expect(Math.abs(nowNs() / 1e6 - realWall)).toBeLessThan(5);
  });

  it('nowNs is wall-clock nanoseconds with sub-millisecond resolution', () => {
    const before = Date.now();
    const now = nowNs();
    const after = Date.now();
    expect(now).toBeGreaterThanOrEqual((before - 1) * 1e6);
    expect(now).toBeLessThanOrEqual((after + 1) * 1e6);
    expect(Number.isInteger(now)).toBe(true);
  });
});

describe('message payload', () => {
  const timestampNs = 1_700_000_000_123_456_768;
  const header = hex('17979cfe3d85cd00 0001 30313233343536373839616263646566');

  it('has the 26-byte header layout of nsqd, then the body', () => {
    expect(MESSAGE_HEADER_SIZE).toBe(26);
    expect(MESSAGE_ID_LENGTH).toBe(16);
    expect(header.length).toBe(26);
    expect(encodeMessagePayload(timestampNs, 1, ID, Buffer.from('hello'))).toEqual(
      Buffer.concat([header, Buffer.from('hello')]),
    );
    expect(encodeMessagePayload(timestampNs, 1, ID, Buffer.alloc(0))).toEqual(header);
  });

  it('writeMessageHeader writes at an offset and returns where the body goes', () => {
    const target = Buffer.alloc(30, 0xee);
    expect(writeMessageHeader(target, 2, timestampNs, 1, ID)).toBe(28);
    expect(target).toEqual(Buffer.concat([hex('eeee'), header, hex('eeee')]));
  });

  it('writes attempts as uint16, wrapping like nsqd’s counter', () => {
    const attemptsOf = (attempts: number): string =>
      encodeMessagePayload(0, attempts, ID, Buffer.alloc(0)).subarray(8, 10).toString('hex');
    expect([0, 1, 2, 258, 65535, 65536, 65537].map(attemptsOf)).toEqual(['0000', '0001', '0002', '0102', 'ffff', '0000', '0001']);
  });

  it('refuses a header or timestamp that does not fit, writing nothing (stores past the end would be dropped silently)', () => {
    const target = Buffer.alloc(30, 0xee);
    expect(() => writeMessageHeader(target, 5, 0, 1, ID)).toThrow(RangeError);
    expect(() => writeMessageHeader(target, -1, 0, 1, ID)).toThrow(RangeError);
    expect(() => writeTimestamp(target, 23, 0)).toThrow(RangeError);
    expect(target).toEqual(Buffer.alloc(30, 0xee));
    expect(writeMessageHeader(target, 4, 0, 1, ID)).toBe(30);
  });

  it('refuses an id that is not 16 characters instead of leaving stale bytes in the header', () => {
    const target = Buffer.alloc(26);
    for (const id of ['', '0123456789abcde', '0123456789abcdef0']) {
      expect(() => writeMessageHeader(target, 0, 0, 1, id)).toThrow(MessageIdError);
    }
    try {
      encodeMessagePayload(0, 1, 'short', Buffer.alloc(0));
      expect.unreachable();
    } catch (error) {
      expect((error as MessageIdError).code).toBe('E_BAD_MESSAGE_ID');
      expect((error as MessageIdError).id).toBe('short');
    }
  });

  it('decodes what it encodes; the body is a slice of the payload', () => {
    const payload = encodeMessagePayload(timestampNs, 7, ID, Buffer.from('body'));
    const message = decodeMessagePayload(payload);
    expect(message).toEqual({ timestampNs, attempts: 7, id: ID, body: Buffer.from('body'), payload });
    expect(message.payload).toBe(payload);
    expect(message.body.buffer).toBe(payload.buffer);
    expect(message.body.byteOffset).toBe(payload.byteOffset + 26);
  });

  it('keeps every id byte, as latin1: the id is opaque', () => {
    const rawId = hex('00017f80c3a9fffe2020202020202020');
    const message = decodeMessagePayload(Buffer.concat([hex('0000000000000001 0001'), rawId]));
    expect(message.id).toHaveLength(16);
    expect(Buffer.from(message.id, 'latin1')).toEqual(rawId);
    expect(encodeMessagePayload(1, 1, message.id, Buffer.alloc(0)).subarray(10)).toEqual(rawId);
  });

  it('decodes an nsqd payload with a timestamp past 2^53 to the nearest double', () => {
    const exact = 1_700_000_000_123_456_789n;
    const payload = Buffer.concat([int64(exact), hex('0003'), Buffer.from(ID), Buffer.from('x')]);
    expect(decodeMessagePayload(payload).timestampNs).toBe(Number(exact));
    // The exact value stays readable, for whoever passes it on.
    expect(decodeMessagePayload(payload).payload?.readBigInt64BE(0)).toBe(exact);
  });

  it('rejects a payload shorter than the header; exactly 26 bytes is an empty body', () => {
    expect(() => decodeMessagePayload(Buffer.alloc(25))).toThrow(MessageDecodeError);
    expect(() => decodeMessagePayload(Buffer.alloc(0))).toThrow(
      'message payload of 0 bytes is shorter than the 26-byte header',
    );
    try {
      decodeMessagePayload(Buffer.alloc(3));
    } catch (error) {
      expect((error as MessageDecodeError).code).toBe('E_BAD_MESSAGE_PAYLOAD');
    }
    expect(decodeMessagePayload(Buffer.alloc(26)).body).toHaveLength(0);
  });

  it('a message frame built in place equals encodeFrame of the payload', () => {
    const body = Buffer.from('payload');
    const frame = Buffer.alloc(8 + 26 + body.length);
    const bodyOffset = writeMessageHeader(frame, writeFrameHeader(frame, 0, FrameType.Message, 26 + body.length), timestampNs, 2, ID);
    body.copy(frame, bodyOffset);
    expect(frame).toEqual(encodeFrame(FrameType.Message, encodeMessagePayload(timestampNs, 2, ID, body)));
    // [int32 4+26+N][int32 2]
    expect(frame.subarray(0, 8)).toEqual(hex('00000025 00000002'));
  });
});
