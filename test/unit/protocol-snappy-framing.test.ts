import { randomBytes } from 'node:crypto';
import { SnappyStream, UnsnappyStream } from 'snappystream';
import { describe, expect, it } from 'vitest';
import {
  SNAPPY_MAX_BLOCK_SIZE,
  SNAPPY_STREAM_IDENTIFIER,
  SnappyFrameDecoder,
  SnappyFrameEncoder,
  SnappyFramingError,
  maskedCrc32c,
} from '../../protocol/snappy-framing.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** The masked CRC by the framing spec's words, to check the implementation against. */
function specMask(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function chunk(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUIntLE(payload.length, 1, 3);
  return Buffer.concat([header, payload]);
}

function crcLE(data: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(maskedCrc32c(data), 0);
  return out;
}

function decodeAll(decoder: SnappyFrameDecoder, pieces: Buffer[]): Buffer {
  return Buffer.concat(pieces.flatMap((piece) => decoder.push(piece)));
}

// "aaaaaaaaaa" as a snappy block: length 10, literal "a", copy-1 of length 9 at offset 1.
const TEN_A_BLOCK = hex('0a 00 61 15 01');
const OK_FRAME = hex('00000006 00000000 4f4b');

describe('masked CRC-32C', () => {
  it('is the Castagnoli CRC of the check string, rotated and offset', () => {
    // CRC-32C("123456789") = 0xe3069283 (RFC 3720 check value).
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(specMask(0xe3069283));
    expect(maskedCrc32c(Buffer.alloc(0))).toBe(specMask(0));
  });
});

describe('SnappyFrameEncoder', () => {
  it('starts with the stream identifier, once', () => {
    const encoder = new SnappyFrameEncoder();
    expect(encoder.encode(Buffer.alloc(0))).toEqual(SNAPPY_STREAM_IDENTIFIER);
    expect(encoder.encode(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
    expect(SNAPPY_STREAM_IDENTIFIER).toEqual(hex('ff060000 734e61507059'));
  });

  it('sends a frame that does not compress as an uncompressed chunk, byte for byte', () => {
    const encoded = new SnappyFrameEncoder().encode(OK_FRAME);
    expect(encoded).toEqual(Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('01 0e0000'), crcLE(OK_FRAME), OK_FRAME]));
  });

  it('compresses what shrinks, and splits at 65536 bytes per chunk', () => {
    const data = Buffer.alloc(SNAPPY_MAX_BLOCK_SIZE * 2 + 10, 0x61);
    const encoded = new SnappyFrameEncoder().encode(data);
    let offset = SNAPPY_STREAM_IDENTIFIER.length;
    const types: number[] = [];
    while (offset < encoded.length) {
      types.push(encoded[offset]!);
      offset += 4 + encoded.readUIntLE(offset + 1, 3);
    }
    expect(types).toEqual([0, 0, 1]); // the 10-byte tail does not shrink by 1/8
    expect(encoded.length).toBeLessThan(data.length / 10);
    expect(decodeAll(new SnappyFrameDecoder(), [encoded])).toEqual(data);
  });
});

describe('SnappyFrameDecoder', () => {
  const stream = Buffer.concat([
    SNAPPY_STREAM_IDENTIFIER,
    chunk(0x01, Buffer.concat([crcLE(OK_FRAME), OK_FRAME])),
    chunk(0xfe, Buffer.alloc(3)),
    chunk(0x80, Buffer.from('skip me')),
    chunk(0x00, Buffer.concat([crcLE(Buffer.alloc(10, 0x61)), TEN_A_BLOCK])),
    chunk(0xfe, Buffer.alloc(0)),
    SNAPPY_STREAM_IDENTIFIER,
    chunk(0x01, Buffer.concat([crcLE(Buffer.from('z')), Buffer.from('z')])),
  ]);
  const expected = Buffer.concat([OK_FRAME, Buffer.alloc(10, 0x61), Buffer.from('z')]);

  it('decodes uncompressed, compressed, padding, skippable and repeated identifier chunks', () => {
    expect(decodeAll(new SnappyFrameDecoder(), [stream])).toEqual(expected);
  });

  it('gives the same bytes however the stream is cut', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new SnappyFrameDecoder();
      expect(decodeAll(decoder, [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
    const bytes = [...stream].map((byte) => Buffer.from([byte]));
    expect(decodeAll(new SnappyFrameDecoder(), bytes)).toEqual(expected);
  });

  const refusals: Array<[string, Buffer, string]> = [
    ['a stream not starting with the identifier', chunk(0x01, Buffer.concat([crcLE(OK_FRAME), OK_FRAME])), 'E_SNAPPY_CORRUPT'],
    ['an identifier of the wrong length', chunk(0xff, Buffer.from('sNaPpYx')), 'E_SNAPPY_CORRUPT'],
    ['an identifier with the wrong text', chunk(0xff, Buffer.from('SNAPPY')), 'E_SNAPPY_CORRUPT'],
  ];
  for (const [label, bytes, code] of refusals) {
    it(`refuses ${label}`, () => {
      expect(() => new SnappyFrameDecoder().push(bytes)).toThrow(expect.objectContaining({ code }));
    });
  }

  const afterIdentifier: Array<[string, Buffer, string]> = [
    ['a reserved chunk type', chunk(0x02, Buffer.alloc(1)), 'E_SNAPPY_UNSUPPORTED'],
    ['a bad checksum', chunk(0x01, Buffer.concat([hex('00000000'), OK_FRAME])), 'E_SNAPPY_CORRUPT'],
    ['a data chunk shorter than its checksum', chunk(0x01, hex('0000')), 'E_SNAPPY_CORRUPT'],
    ['a compressed block that is garbage', chunk(0x00, Buffer.concat([crcLE(Buffer.alloc(10, 0x61)), hex('0a 00 61 15 09')])), 'E_SNAPPY_CORRUPT'],
    ['a block claiming more than 65536 bytes', chunk(0x00, Buffer.concat([hex('00000000'), hex('81 80 04'), Buffer.alloc(4)])), 'E_SNAPPY_CORRUPT'],
    ['an uncompressed chunk over 65536 bytes', chunk(0x01, Buffer.alloc(4 + SNAPPY_MAX_BLOCK_SIZE + 1)), 'E_SNAPPY_CORRUPT'],
    ['a chunk longer than any valid one', hex('01 ffffff'), 'E_SNAPPY_CORRUPT'],
  ];
  for (const [label, bytes, code] of afterIdentifier) {
    it(`refuses ${label}, and stays failed`, () => {
      const decoder = new SnappyFrameDecoder();
      decoder.push(SNAPPY_STREAM_IDENTIFIER);
      expect(() => decoder.push(bytes)).toThrow(expect.objectContaining({ code }));
      expect(() => decoder.push(SNAPPY_STREAM_IDENTIFIER)).toThrow(SnappyFramingError);
    });
  }

  it('hands over what the chunks before a bad one decoded to, with the error (golang/snappy returns it first)', () => {
    const good = new SnappyFrameEncoder().encode(Buffer.from('PUB t\n'));
    const decoder = new SnappyFrameDecoder();
    const error = (() => {
      try {
        decoder.push(Buffer.concat([good, hex('40 000000')]));
      } catch (caught) {
        return caught as SnappyFramingError;
      }
      throw new Error('no error');
    })();
    expect(error.code).toBe('E_SNAPPY_UNSUPPORTED');
    expect(Buffer.concat(error.decoded).toString()).toBe('PUB t\n');
    // Thrown again by later pushes, with nothing more to hand over.
    expect(() => decoder.push(good)).toThrow(expect.objectContaining({ decoded: [] }));
    const pieces: Buffer[] = [];
    expect(new SnappyFrameDecoder().pushTo(Buffer.concat([good, hex('40 000000')]), (piece) => pieces.push(piece))?.code).toBe('E_SNAPPY_UNSUPPORTED');
    expect(Buffer.concat(pieces).toString()).toBe('PUB t\n');
  });

  it('cuts a decompression bomb at maxOutputBytes', () => {
    const bomb = new SnappyFrameEncoder().encode(Buffer.alloc(SNAPPY_MAX_BLOCK_SIZE * 64));
    expect(bomb.length).toBeLessThan(SNAPPY_MAX_BLOCK_SIZE * 64 / 16);
    const decoder = new SnappyFrameDecoder({ maxOutputBytes: 1 << 20 });
    expect(() => decoder.push(bomb)).toThrow(expect.objectContaining({ code: 'E_SNAPPY_TOO_LARGE' }));
  });

  it('never throws anything but a SnappyFramingError on random or mutated input (fuzz)', () => {
    const valid = new SnappyFrameEncoder().encode(Buffer.concat([randomBytes(300), Buffer.alloc(3000, 7), randomBytes(50)]));
    for (let round = 0; round < 2000; round++) {
      const input = Buffer.from(round % 2 === 0 ? valid : Buffer.concat([SNAPPY_STREAM_IDENTIFIER, randomBytes(64)]));
      const flips = 1 + (round % 4);
      for (let i = 0; i < flips; i++) input[Math.floor(Math.random() * input.length)] = Math.floor(Math.random() * 256);
      const decoder = new SnappyFrameDecoder({ maxOutputBytes: 1 << 20 });
      const cut = Math.floor(Math.random() * input.length);
      try {
        const out = decodeAll(decoder, [input.subarray(0, cut), input.subarray(cut)]);
        expect(out.length).toBeLessThanOrEqual(1 << 20);
      } catch (error) {
        expect(error).toBeInstanceOf(SnappyFramingError);
      }
    }
  });
});

describe('interoperability with snappystream (nsqjs codec)', () => {
  async function pipeThrough(stream: NodeJS.ReadWriteStream, input: Buffer): Promise<Buffer> {
    const out: Buffer[] = [];
    stream.on('data', (data: Buffer) => out.push(data));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    stream.end(input);
    await done;
    return Buffer.concat(out);
  }

  it('decodes what snappystream encodes, and the reverse', async () => {
    const data = Buffer.concat([randomBytes(70_000), Buffer.alloc(100_000, 'x')]);
    const theirs = await pipeThrough(new SnappyStream(), data);
    expect(decodeAll(new SnappyFrameDecoder(), [theirs])).toEqual(data);
    const ours = new SnappyFrameEncoder().encode(data);
    expect(await pipeThrough(new UnsnappyStream(), ours)).toEqual(data);
  });
});
