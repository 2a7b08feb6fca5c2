import { describe, expect, it } from 'vitest';
import {
  FRAME_HEADER_SIZE,
  FrameDecoder,
  FrameSizeError,
  FrameType,
  SizedPayloadDecoder,
  encodeFrame,
  encodeSizedPayload,
  writeFrameHeader,
} from '../../protocol/frames.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Every way of cutting `stream` that the decoders must treat alike: whole, at each byte (two chunks), byte by byte. */
function chunkings(stream: Buffer): { label: string; chunks: Buffer[] }[] {
  const out: { label: string; chunks: Buffer[] }[] = [{ label: 'one chunk', chunks: [stream] }];
  for (let cut = 0; cut <= stream.length; cut++) {
    out.push({ label: `cut at ${cut}`, chunks: [stream.subarray(0, cut), stream.subarray(cut)] });
  }
  const bytes: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
  out.push({ label: 'byte by byte', chunks: bytes });
  return out;
}

/**
 * A copy with an ArrayBuffer of its own (Buffer.from of a small buffer shares Node's pool), so a
 * slice's `.buffer` tells which chunk it came from.
 */
function unpooled(source: Buffer): Buffer {
  const copy = Buffer.alloc(source.length);
  source.copy(copy);
  return copy;
}

describe('frame encoders', () => {
  it('writeFrameHeader writes size = 4 + data length, then the type, and returns the data offset', () => {
    const target = Buffer.alloc(14, 0xee);
    expect(writeFrameHeader(target, 3, FrameType.Message, 2)).toBe(3 + FRAME_HEADER_SIZE);
    expect(target).toEqual(hex('eeeeee 00000006 00000002 eeeeee'));
    expect(writeFrameHeader(target, 0, FrameType.Error, 0x01020304)).toBe(8);
    expect(target.subarray(0, 8)).toEqual(hex('01020308 00000001'));
  });

  it('encodeFrame: OK, heartbeat, an error and an empty frame, byte for byte', () => {
    expect(encodeFrame(FrameType.Response, 'OK')).toEqual(hex('00000006 00000000 4f4b'));
    expect(encodeFrame(FrameType.Response, '_heartbeat_')).toEqual(
      Buffer.concat([hex('0000000f 00000000'), Buffer.from('_heartbeat_')]),
    );
    const error = 'E_INVALID invalid command FOO';
    expect(encodeFrame(FrameType.Error, error)).toEqual(
      Buffer.concat([hex(`000000${(4 + error.length).toString(16)} 00000001`), Buffer.from(error)]),
    );
    expect(encodeFrame(FrameType.Response, '')).toEqual(hex('00000004 00000000'));
    expect(encodeFrame(FrameType.Message, Buffer.alloc(0))).toEqual(hex('00000004 00000002'));
  });

  it('encodeFrame counts UTF-8 bytes, not characters, and copies a Buffer verbatim', () => {
    expect(encodeFrame(FrameType.Response, 'é')).toEqual(hex('00000006 00000000 c3a9'));
    const data = hex('00ff10');
    const frame = encodeFrame(FrameType.Message, data);
    expect(frame).toEqual(hex('00000007 00000002 00ff10'));
    expect(frame.buffer === data.buffer && frame.byteOffset + 8 === data.byteOffset).toBe(false);
  });

  it('encodeSizedPayload is nsqlookupd framing: a size word and no type word', () => {
    expect(encodeSizedPayload('OK')).toEqual(hex('00000002 4f4b'));
    expect(encodeSizedPayload('E_INVALID invalid command X')).toEqual(
      Buffer.concat([hex('0000001b'), Buffer.from('E_INVALID invalid command X')]),
    );
    expect(encodeSizedPayload('')).toEqual(hex('00000000'));
    expect(encodeSizedPayload(hex('0102'))).toEqual(hex('00000002 0102'));
    expect(encodeSizedPayload('µ')).toEqual(hex('00000002 c2b5'));
  });
});

describe('FrameSizeError', () => {
  it('carries a stable code, the size and the limit', () => {
    const error = new FrameSizeError(-1, 100);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('E_FRAME_SIZE');
    expect(error.name).toBe('FrameSizeError');
    expect([error.size, error.limit, error.min]).toEqual([-1, 100, 0]);
    expect(error.message).toBe('frame size -1 is outside 0..100');
  });

  it('recognises an HTTP response read as a size word (when the limit is below it)', () => {
    const decoder = new SizedPayloadDecoder(() => {}, 1024 * 1024);
    expect(() => decoder.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toThrow(/HTTP port/);
  });
});

/** Three payloads of interesting sizes: empty, one byte, and longer than the cuts. */
const PAYLOADS = [Buffer.alloc(0), hex('7f'), Buffer.from('{"broadcast_address":"h","tcp_port":4160}'), hex('00000000')];
const sizedStream = Buffer.concat(PAYLOADS.map((payload) => encodeSizedPayload(payload)));

describe('SizedPayloadDecoder', () => {
  it('yields the same payloads however the stream is cut', () => {
    for (const { label, chunks } of chunkings(sizedStream)) {
      const seen: string[] = [];
      const decoder = new SizedPayloadDecoder((payload) => seen.push(payload.toString('hex')));
      for (const chunk of chunks) decoder.push(chunk);
      expect(seen, label).toEqual(PAYLOADS.map((payload) => payload.toString('hex')));
      expect(decoder.bufferedBytes, label).toBe(0);
    }
  });

  it('hands on a payload that lies in one chunk as a slice of that chunk', () => {
    const chunk = unpooled(sizedStream);
    const seen: Buffer[] = [];
    new SizedPayloadDecoder((payload) => seen.push(payload)).push(chunk);
    expect(seen).toHaveLength(PAYLOADS.length);
    for (const payload of seen) expect(payload.buffer).toBe(chunk.buffer);
    expect(seen[2]!.byteOffset).toBe(chunk.byteOffset + 4 + 0 + 4 + 1 + 4);
  });

  it('gathers a payload that spans chunks into its own buffer, with the right bytes', () => {
    const frame = encodeSizedPayload(Buffer.from('0123456789'));
    const chunks = [frame.subarray(0, 6), frame.subarray(6, 9), frame.subarray(9)].map(unpooled);
    const seen: Buffer[] = [];
    const decoder = new SizedPayloadDecoder((payload) => seen.push(payload));
    decoder.push(chunks[0]!);
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(chunks[1]!);
    expect(decoder.bufferedBytes).toBe(5);
    decoder.push(chunks[2]!);
    expect(seen.map(String)).toEqual(['0123456789']);
    for (const chunk of chunks) expect(seen[0]!.buffer).not.toBe(chunk.buffer);
    // Nothing is held once the payload is out.
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('counts a partial size word in bufferedBytes', () => {
    const decoder = new SizedPayloadDecoder(() => {});
    decoder.push(hex('0000'));
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(hex('00'));
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(hex('01'));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('keeps no reference to a chunk the caller reuses after push returns', () => {
    // A reader that recycles one scratch buffer: every byte the decoder needs later must have been copied.
    const scratch = Buffer.alloc(3);
    const seen: string[] = [];
    const decoder = new SizedPayloadDecoder((payload) => seen.push(payload.toString('hex')));
    for (let offset = 0; offset < sizedStream.length; offset += scratch.length) {
      const length = sizedStream.copy(scratch, 0, offset, offset + scratch.length);
      decoder.push(scratch.subarray(0, length));
      scratch.fill(0xaa);
    }
    expect(seen).toEqual(PAYLOADS.map((payload) => payload.toString('hex')));
  });

  it('accepts a size equal to the limit and rejects one above it or below zero', () => {
    const seen: number[] = [];
    new SizedPayloadDecoder((payload) => seen.push(payload.length), 3).push(hex('00000003 616263'));
    expect(seen).toEqual([3]);
    expect(() => new SizedPayloadDecoder(() => {}, 3).push(hex('00000004'))).toThrow(FrameSizeError);
    expect(() => new SizedPayloadDecoder(() => {}, 3).push(hex('00000004'))).toThrow('frame size 4 is outside 0..3');
    expect(() => new SizedPayloadDecoder(() => {}).push(hex('ffffffff'))).toThrow('frame size -1 is outside 0..2147483647');
  });

  it('rejects an oversized size word as soon as it is complete, before any data arrives', () => {
    const decoder = new SizedPayloadDecoder(() => {}, 10);
    decoder.push(hex('000000'));
    expect(() => decoder.push(hex('0b'))).toThrow(FrameSizeError);
  });
});

interface DecodedFrame {
  type: number;
  data: string;
}

const FRAMES: DecodedFrame[] = [
  { type: FrameType.Response, data: Buffer.from('OK').toString('hex') },
  { type: FrameType.Response, data: Buffer.from('_heartbeat_').toString('hex') },
  { type: FrameType.Error, data: Buffer.from('E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight').toString('hex') },
  { type: FrameType.Message, data: hex('17c5d7a0b21c1f00 0001 30313233343536373839616263646566 68656c6c6f').toString('hex') },
  { type: FrameType.Response, data: '' },
  // An unknown type is passed on: the caller decides what it means.
  { type: 7, data: 'ff' },
];
const frameStream = Buffer.concat(
  FRAMES.map((frame) => encodeFrame(frame.type as FrameType, Buffer.from(frame.data, 'hex'))),
);

describe('FrameDecoder', () => {
  it('yields the same frames however the stream is cut', () => {
    for (const { label, chunks } of chunkings(frameStream)) {
      const seen: DecodedFrame[] = [];
      const decoder = new FrameDecoder((type, data) => seen.push({ type, data: data.toString('hex') }));
      for (const chunk of chunks) decoder.push(chunk);
      expect(seen, label).toEqual(FRAMES);
      expect(decoder.bufferedBytes, label).toBe(0);
    }
  });

  it('slices the data of a frame that lies in one chunk, without copying', () => {
    const chunk = unpooled(frameStream);
    const seen: Buffer[] = [];
    new FrameDecoder((_type, data) => seen.push(data)).push(chunk);
    expect(seen).toHaveLength(FRAMES.length);
    for (const data of seen) expect(data.buffer).toBe(chunk.buffer);
    expect(seen[0]!.byteOffset).toBe(chunk.byteOffset + 8);
  });

  it('decodes a message frame whose body spans many chunks', () => {
    const body = Buffer.alloc(10_000, 0x5a);
    const stream = Buffer.concat([encodeFrame(FrameType.Message, body), encodeFrame(FrameType.Response, 'OK')]);
    const seen: DecodedFrame[] = [];
    const decoder = new FrameDecoder((type, data) => seen.push({ type, data: data.toString('hex') }));
    const held: number[] = [];
    for (let offset = 0; offset < stream.length; offset += 1500) {
      decoder.push(Buffer.from(stream.subarray(offset, offset + 1500)));
      held.push(decoder.bufferedBytes);
    }
    expect(seen).toEqual([
      { type: FrameType.Message, data: body.toString('hex') },
      { type: FrameType.Response, data: '4f4b' },
    ]);
    expect(held.slice(0, 3)).toEqual([1496, 2996, 4496]);
    expect(held.at(-1)).toBe(0);
  });

  it('rejects a frame too short to hold its type word', () => {
    for (const size of [0, 1, 3]) {
      const decoder = new FrameDecoder(() => {}, 100);
      const frame = Buffer.concat([Buffer.alloc(4), Buffer.alloc(size)]);
      frame.writeInt32BE(size, 0);
      let caught: unknown;
      try {
        decoder.push(frame);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(FrameSizeError);
      expect((caught as FrameSizeError).message).toBe(`frame size ${size} is outside 4..100`);
    }
  });

  it('counts the type word in the size limit, as nsqd frames do', () => {
    const seen: number[] = [];
    new FrameDecoder((_type, data) => seen.push(data.length), 6).push(encodeFrame(FrameType.Response, 'OK'));
    expect(seen).toEqual([2]);
    expect(() => new FrameDecoder(() => {}, 5).push(encodeFrame(FrameType.Response, 'OK'))).toThrow(FrameSizeError);
  });

  it('builds the frames of a real nsqd exchange in place, matching encodeFrame', () => {
    // writeFrameHeader into a preallocated output buffer is how the broker batches message frames.
    const out = Buffer.alloc(2 * (8 + 3));
    let offset = writeFrameHeader(out, 0, FrameType.Message, 3);
    offset += out.write('abc', offset);
    offset = writeFrameHeader(out, offset, FrameType.Response, 3);
    out.write('xyz', offset);
    expect(out).toEqual(Buffer.concat([encodeFrame(FrameType.Message, 'abc'), encodeFrame(FrameType.Response, 'xyz')]));
  });
});
