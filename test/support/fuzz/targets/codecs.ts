/**
 * Fuzz targets for the stream decoders a client can switch on with IDENTIFY:
 *
 * - `snappy`: the framing decoder (protocol/snappy-framing.ts). The stream decodes the same whole and
 *   cut into pieces; one push never returns more than its limit; what decodes encodes and decodes
 *   back to itself; the only error is a SnappyFramingError.
 * - `deflate`: the broker's raw-deflate transport (broker/nsqd/client-transport.ts) over a fake
 *   socket. Every stream ends in exactly one of `end` and `fail`; a stream that ends cleanly delivered
 *   exactly what zlib inflates from it.
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { ClientTransport } from '../../../../broker/nsqd/client-transport.ts';
import { SnappyFrameDecoder, SnappyFrameEncoder, SnappyFramingError, SNAPPY_STREAM_IDENTIFIER } from '../../../../protocol/snappy-framing.ts';
import { Random, validCommandStream } from '../corpus-v2.ts';
import { FakeSocket } from '../fake-socket.ts';
import { cutPoints, invariant, type FuzzTarget } from '../target.ts';

const MAX_OUTPUT = 1 << 18;

function decode(pieces: Buffer[], maxOutputBytes = Number.POSITIVE_INFINITY): { data: Buffer; error: string | undefined } {
  const decoder = new SnappyFrameDecoder({ maxOutputBytes });
  const out: Buffer[] = [];
  try {
    for (const piece of pieces) {
      const decoded = decoder.push(piece);
      const size = decoded.reduce((sum, chunk) => sum + chunk.length, 0);
      invariant(size <= maxOutputBytes, `one push returned ${size} bytes`);
      out.push(...decoded);
    }
  } catch (error) {
    if (!(error instanceof SnappyFramingError)) throw error;
    const size = error.decoded.reduce((sum, chunk) => sum + chunk.length, 0);
    invariant(size <= maxOutputBytes, `a failing push returned ${size} bytes`);
    out.push(...error.decoded);
    invariant(error.code === 'E_SNAPPY_CORRUPT' || error.code === 'E_SNAPPY_UNSUPPORTED' || error.code === 'E_SNAPPY_TOO_LARGE', error.code);
    return { data: Buffer.concat(out), error: error.code };
  }
  return { data: Buffer.concat(out), error: undefined };
}

/** Streams of commands as a client writes them, for both codecs' seeds. */
function commandStreams(count: number): Buffer[] {
  const random = new Random(7);
  return Array.from({ length: count }, (_, i) => (i % 3 === 0 ? Buffer.alloc(random.int(3000), 'a') : validCommandStream(random, 256)));
}

export function snappyTarget(): FuzzTarget {
  return {
    name: 'snappy',
    maxLength: 8192,
    coverage: /\/protocol\/snappy-framing\.ts/,
    dictionary: [SNAPPY_STREAM_IDENTIFIER.toString('latin1'), '\x00', '\x01', '\xfe', '\x80', '\xff\x06\x00\x00'],
    seeds: () => [SNAPPY_STREAM_IDENTIFIER, ...commandStreams(30).map((stream) => new SnappyFrameEncoder().encode(stream))],
    run(input) {
      const whole = decode([input]);
      const cut = decode(cutPoints(input, 5));
      invariant(cut.error === whole.error && cut.data.equals(whole.data), 'the stream decodes differently when cut');
      const bounded = decode([input], MAX_OUTPUT);
      invariant(bounded.error === 'E_SNAPPY_TOO_LARGE' || (bounded.error === whole.error && bounded.data.equals(whole.data)), 'the limit changed a small stream');
      if (whole.data.length > 0) {
        const again = decode([new SnappyFrameEncoder().encode(whole.data)]);
        invariant(again.error === undefined && again.data.equals(whole.data), 'what decoded does not encode back');
      }
    },
    expected: () => false,
    close() {},
  };
}

interface Outcome {
  data: Buffer;
  ended: number;
  failed: number;
}

/** Feeds `input` to a deflate transport in pieces, ends it, and waits for its verdict. */
function inflateThroughTransport(input: Buffer): Promise<Outcome> {
  const socket = new FakeSocket();
  const outcome: Outcome = { data: Buffer.alloc(0), ended: 0, failed: 0 };
  const received: Buffer[] = [];
  return new Promise((resolve) => {
    const settle = (): void => {
      outcome.data = Buffer.concat(received);
      // Let a second verdict, if any, arrive before judging.
      setImmediate(() => resolve(outcome));
    };
    const transport = new ClientTransport(
      socket.socket,
      {
        data: (chunk) => received.push(chunk),
        end: () => (outcome.ended++, settle()),
        fail: () => (outcome.failed++, transport.destroy(), settle()),
        closed: () => {},
      },
      1 << 20,
    );
    transport.upgradeDeflate(6);
    for (const piece of cutPoints(input, 4)) socket.emit('data', piece);
    socket.emit('end');
  });
}

function inflateReference(input: Buffer): Buffer | undefined {
  try {
    return inflateRawSync(input);
  } catch {
    return undefined;
  }
}

export function deflateTarget(): FuzzTarget {
  return {
    name: 'deflate',
    maxLength: 4096,
    coverage: /\/broker\/nsqd\/client-transport\.ts|^node:zlib$/,
    dictionary: ['\x00\x00\xff\xff', '\x03\x00', '\x01\x00\x00\xff\xff'],
    seeds: () =>
      commandStreams(30).map((stream, i) =>
        deflateRawSync(stream, { level: 1 + (i % 9), finishFlush: i % 2 === 0 ? constants.Z_SYNC_FLUSH : constants.Z_FINISH }),
      ),
    async run(input) {
      const { data, ended, failed } = await inflateThroughTransport(input);
      invariant(ended + failed === 1, `${ended} ends and ${failed} failures`);
      if (ended === 1) {
        const reference = inflateReference(input);
        invariant(reference !== undefined && reference.equals(data), 'a clean end delivered other bytes than zlib inflates');
      }
    },
    expected: () => false,
    close() {},
  };
}
