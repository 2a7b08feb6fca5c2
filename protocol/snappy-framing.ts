/**
 * The snappy *framing* format (github.com/google/snappy framing_format.txt), as nsqd speaks it after a
 * snappy upgrade: golang/snappy's Reader and Writer (nsq pins v0.0.4; read in `nsqd/client_v2.go`
 * UpgradeSnappy). Pure byte transforms: bytes in, bytes out, no sockets.
 *
 * A stream starts with the identifier chunk `ff 06 00 00 73 4e 61 50 70 59`; each chunk is
 * `[type u8][length u24 little-endian][payload]`. Type 0x00 holds a masked CRC-32C (u32 LE) and a
 * snappy block, 0x01 a masked CRC-32C and raw bytes, 0xfe padding, 0x80-0xfd skippable chunks;
 * 0x02-0x7f are reserved and refused. At most 65536 uncompressed bytes per chunk.
 *
 * Dependencies: snappy blocks come from `snappy` (napi-rs bindings to the Rust `snap` crate, prebuilt
 * binaries shipped in the registry packages, maintained, and the fastest block codec for Node); the
 * CRC is `crc32c` of `@node-rs/crc32` (same maintainers and build, hardware CRC-32C instructions).
 * A hand-written block decoder in TypeScript would be slower and another attack surface to fuzz.
 */
import { createRequire } from 'node:module';
import type * as Crc32 from '@node-rs/crc32';
import type * as Snappy from 'snappy';
import { CodedError } from './coded-error.ts';

// The native packages load on first use: a broker or client that never negotiates snappy (and a
// server bundle) does not pay for them. Named apart from `require` so bundlers leave them external.
const requireNative = createRequire(import.meta.url);
let snappyCodec: typeof Snappy | undefined;
let crcCodec: typeof Crc32 | undefined;
const snappy = (): typeof Snappy => (snappyCodec ??= requireNative('snappy') as typeof Snappy);
const crc32c = (data: Buffer): number => (crcCodec ??= requireNative('@node-rs/crc32') as typeof Crc32).crc32c(data);

/** The identifier chunk every framed stream starts with (and may repeat). */
export const SNAPPY_STREAM_IDENTIFIER: Buffer = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
/** Most uncompressed bytes one chunk carries (golang/snappy maxBlockSize). */
export const SNAPPY_MAX_BLOCK_SIZE = 65536;
/** Largest chunk payload a reader accepts: checksum + maxEncodedLen(65536), as golang/snappy's buffer. */
export const SNAPPY_MAX_CHUNK_LENGTH = 4 + 76490;

const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_STREAM_IDENTIFIER = 0xff;
const CHUNK_HEADER_SIZE = 4;
const CHECKSUM_SIZE = 4;
const MASK_DELTA = 0xa282ead8;

export type SnappyFramingErrorCode = 'E_SNAPPY_CORRUPT' | 'E_SNAPPY_UNSUPPORTED' | 'E_SNAPPY_TOO_LARGE';

/** A framed stream that cannot be decoded; the stream is dead after it (no resynchronisation). */
export class SnappyFramingError extends CodedError<SnappyFramingErrorCode> {
  override readonly name = 'SnappyFramingError';
  /**
   * What the failing push decoded from the chunks before the bad one, in order: golang/snappy's Reader
   * returns those bytes before it reports the error, so nsqd carries out the commands they hold. Empty
   * when a later push throws the error again.
   */
  decoded: Buffer[] = [];
}

/** The framing format's checksum: CRC-32C rotated right by 15 bits plus 0xa282ead8, mod 2^32. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/**
 * Encodes a byte stream into chunks. The first {@link encode} call starts with the stream identifier.
 * Like golang/snappy's Writer, a block that does not shrink by at least 1/8 is sent uncompressed.
 */
export class SnappyFrameEncoder {
  private started = false;

  /** The chunks for `data` (one buffer; empty data gives no chunk, except the identifier on first use). */
  encode(data: Buffer): Buffer {
    const pieces: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      pieces.push(SNAPPY_STREAM_IDENTIFIER);
    }
    for (let offset = 0; offset < data.length; offset += SNAPPY_MAX_BLOCK_SIZE) {
      const block = data.subarray(offset, Math.min(offset + SNAPPY_MAX_BLOCK_SIZE, data.length));
      const compressed = snappy().compressSync(block);
      const useCompressed = compressed.length < block.length - (block.length >>> 3);
      const payload = useCompressed ? compressed : block;
      const header = Buffer.allocUnsafe(CHUNK_HEADER_SIZE + CHECKSUM_SIZE);
      const chunkLength = CHECKSUM_SIZE + payload.length;
      header[0] = useCompressed ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED;
      header.writeUIntLE(chunkLength, 1, 3);
      header.writeUInt32LE(maskedCrc32c(block), 4);
      pieces.push(header, payload);
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }
}

/** Options of {@link SnappyFrameDecoder}. */
export interface SnappyFrameDecoderOptions {
  /**
   * Most decoded bytes one {@link SnappyFrameDecoder.push} may return; past it the push throws
   * `E_SNAPPY_TOO_LARGE` (a decompression bomb stops there). Default: unlimited (each chunk is still
   * at most 65536 bytes, so memory per chunk is bounded either way).
   */
  maxOutputBytes?: number;
}

/** The uvarint length preamble of a snappy block, or -1 when it is malformed or longer than 5 bytes. */
function decodedLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  return -1;
}

/**
 * Decodes a framed stream fed in arbitrary pieces. The first chunk must be the stream identifier, as
 * golang/snappy's Reader demands. Throws {@link SnappyFramingError} on a bad stream.
 */
export class SnappyFrameDecoder {
  private readonly maxOutputBytes: number;
  private readonly header = Buffer.alloc(CHUNK_HEADER_SIZE);
  private headerFilled = 0;
  private chunk: Buffer | undefined;
  private chunkFilled = 0;
  private chunkType = 0;
  private readIdentifier = false;
  private failed: SnappyFramingError | undefined;

  constructor(options: SnappyFrameDecoderOptions = {}) {
    this.maxOutputBytes = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Feeds bytes; returns the decoded bytes of every chunk they complete, in order. Throws
   * {@link SnappyFramingError} at the first bad chunk, with what the chunks before it decoded to.
   */
  push(input: Buffer): Buffer[] {
    if (this.failed !== undefined) throw this.failed;
    const out: Buffer[] = [];
    try {
      this.decodeInto(input, out);
    } catch (error) {
      const failed = this.failed as SnappyFramingError | undefined; // set by decodeInto
      if (error !== failed || failed === undefined || out.length === 0) throw error;
      const first = new SnappyFramingError(failed.code, failed.message, { cause: failed.cause });
      first.decoded = out;
      throw first;
    }
    return out;
  }

  /**
   * {@link push} for a transport: hands each decoded piece to `onData` (the pieces before a bad chunk
   * too), then returns the error that ended the stream, if any.
   */
  pushTo(input: Buffer, onData: (piece: Buffer) => void): SnappyFramingError | undefined {
    let pieces: Buffer[];
    let failure: SnappyFramingError | undefined;
    try {
      pieces = this.push(input);
    } catch (error) {
      if (!(error instanceof SnappyFramingError)) throw error;
      failure = error;
      pieces = error.decoded;
    }
    for (const piece of pieces) onData(piece);
    return failure;
  }

  private decodeInto(input: Buffer, out: Buffer[]): void {
    let produced = 0;
    let offset = 0;
    while (offset < input.length) {
      if (this.chunk === undefined) {
        while (this.headerFilled < CHUNK_HEADER_SIZE && offset < input.length) this.header[this.headerFilled++] = input[offset++]!;
        if (this.headerFilled < CHUNK_HEADER_SIZE) break;
        this.headerFilled = 0;
        this.startChunk();
        if (this.chunk === undefined) continue; // an empty chunk is already handled
      }
      const chunk: Buffer = this.chunk;
      const take = Math.min(chunk.length - this.chunkFilled, input.length - offset);
      input.copy(chunk, this.chunkFilled, offset, offset + take);
      this.chunkFilled += take;
      offset += take;
      if (this.chunkFilled < chunk.length) break;
      this.chunk = undefined;
      const data = this.finishChunk(chunk);
      if (data !== undefined && data.length > 0) {
        produced += data.length;
        if (produced > this.maxOutputBytes) {
          throw this.fail('E_SNAPPY_TOO_LARGE', `snappy: decoded output exceeds ${this.maxOutputBytes} bytes`);
        }
        out.push(data);
      }
    }
  }

  private fail(code: SnappyFramingErrorCode, message: string): SnappyFramingError {
    this.failed = new SnappyFramingError(code, message);
    return this.failed;
  }

  private startChunk(): void {
    const type = this.header[0]!;
    const length = this.header.readUIntLE(1, 3);
    if (!this.readIdentifier && type !== CHUNK_STREAM_IDENTIFIER) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
    if (type === CHUNK_STREAM_IDENTIFIER && length !== SNAPPY_STREAM_IDENTIFIER.length - CHUNK_HEADER_SIZE) {
      throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
    }
    if (type >= 0x02 && type <= 0x7f) throw this.fail('E_SNAPPY_UNSUPPORTED', 'snappy: unsupported input');
    if (length > SNAPPY_MAX_CHUNK_LENGTH) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
    if ((type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) && length < CHECKSUM_SIZE) {
      throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
    }
    this.chunkType = type;
    if (length === 0) return; // padding or skippable with no payload
    this.chunk = Buffer.allocUnsafe(length);
    this.chunkFilled = 0;
  }

  private finishChunk(chunk: Buffer): Buffer | undefined {
    switch (this.chunkType) {
      case CHUNK_STREAM_IDENTIFIER:
        if (!chunk.equals(SNAPPY_STREAM_IDENTIFIER.subarray(CHUNK_HEADER_SIZE))) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
        this.readIdentifier = true;
        return undefined;
      case CHUNK_COMPRESSED: {
        const block = chunk.subarray(CHECKSUM_SIZE);
        const length = decodedLength(block);
        if (length < 0 || length > SNAPPY_MAX_BLOCK_SIZE) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
        let data: Buffer;
        try {
          data = snappy().uncompressSync(block, { asBuffer: true }) as Buffer;
        } catch (error) {
          this.failed = new SnappyFramingError('E_SNAPPY_CORRUPT', 'snappy: corrupt input', { cause: error });
          throw this.failed;
        }
        if (data.length !== length) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
        return this.checked(chunk, data);
      }
      case CHUNK_UNCOMPRESSED: {
        const data = chunk.subarray(CHECKSUM_SIZE);
        if (data.length > SNAPPY_MAX_BLOCK_SIZE) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
        return this.checked(chunk, data);
      }
      default:
        return undefined; // padding (0xfe) and skippable chunks (0x80-0xfd)
    }
  }

  private checked(chunk: Buffer, data: Buffer): Buffer {
    if (chunk.readUInt32LE(0) !== maskedCrc32c(data)) throw this.fail('E_SNAPPY_CORRUPT', 'snappy: corrupt input');
    return data;
  }
}
