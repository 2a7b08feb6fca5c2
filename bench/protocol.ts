/**
 * Micro-benchmark of the wire codec's decoders: `npx tsx bench/protocol.ts`.
 *
 * Each case builds one long byte stream up front, cuts it into 64 KiB chunks (as a socket delivers
 * it), and times only the decoder. The best of several runs is reported, so a GC pause or JIT warm-up
 * in one run does not hide what the code can do.
 */
import { CommandParser } from '../protocol/command-parser.ts';
import { FrameDecoder, FrameType, writeFrameHeader } from '../protocol/frames.ts';
import { MESSAGE_HEADER_SIZE, writeMessageHeader } from '../protocol/message.ts';

const CHUNK_SIZE = 64 * 1024;
const RUNS = 15;
const BODY_SIZE = 200;

const bodyLimits: ReadonlyMap<string, number> = new Map([
  ['IDENTIFY', 5 * 1024 * 1024],
  ['AUTH', 5 * 1024 * 1024],
  ['PUB', 1024 * 1024],
  ['MPUB', 5 * 1024 * 1024],
  ['DPUB', 1024 * 1024],
]);

function hexId(i: number): string {
  return i.toString(16).padStart(16, '0');
}

function chunksOf(stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < stream.length; offset += CHUNK_SIZE) {
    chunks.push(stream.subarray(offset, Math.min(offset + CHUNK_SIZE, stream.length)));
  }
  return chunks;
}

function finStream(count: number): Buffer {
  const lineLength = 'FIN '.length + 16 + 1;
  const stream = Buffer.allocUnsafe(count * lineLength);
  for (let i = 0; i < count; i++) stream.write(`FIN ${hexId(i)}\n`, i * lineLength, 'latin1');
  return stream;
}

function pubStream(count: number): Buffer {
  const line = Buffer.from('PUB bench_topic\n');
  const unit = line.length + 4 + BODY_SIZE;
  const stream = Buffer.alloc(count * unit, 0x61);
  for (let i = 0; i < count; i++) {
    const offset = i * unit;
    line.copy(stream, offset);
    stream.writeInt32BE(BODY_SIZE, offset + line.length);
  }
  return stream;
}

function messageFrameStream(count: number): Buffer {
  const frameLength = 8 + MESSAGE_HEADER_SIZE + BODY_SIZE;
  const stream = Buffer.alloc(count * frameLength, 0x62);
  const timestampNs = Date.now() * 1e6;
  for (let i = 0; i < count; i++) {
    const offset = writeFrameHeader(stream, i * frameLength, FrameType.Message, MESSAGE_HEADER_SIZE + BODY_SIZE);
    writeMessageHeader(stream, offset, timestampNs, 1, hexId(i));
  }
  return stream;
}

interface Result {
  name: string;
  units: string;
  perSecond: number;
  mbPerSecond: number;
}

/** Runs `decode` over the chunks RUNS times; returns the best rate. `decode` returns how many units it saw. */
function measure(name: string, units: string, expected: number, chunks: Buffer[], decode: (chunks: Buffer[]) => number): Result {
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let bestMs = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const seen = decode(chunks);
    const elapsed = performance.now() - start;
    if (seen !== expected) throw new Error(`${name}: decoded ${seen} ${units}, expected ${expected}`);
    bestMs = Math.min(bestMs, elapsed);
  }
  return { name, units, perSecond: (expected / bestMs) * 1000, mbPerSecond: bytes / 1e6 / (bestMs / 1000) };
}

function parseCommands(chunks: Buffer[]): number {
  let seen = 0;
  const parser = new CommandParser({ bodyLimits }, () => {
    seen++;
  });
  for (const chunk of chunks) parser.push(chunk);
  return seen;
}

function decodeFrames(chunks: Buffer[]): number {
  let seen = 0;
  const decoder = new FrameDecoder(() => {
    seen++;
  });
  for (const chunk of chunks) decoder.push(chunk);
  return seen;
}

const FIN_COUNT = 1_000_000;
const PUB_COUNT = 300_000;
const FRAME_COUNT = 500_000;

const results = [
  measure('CommandParser FIN <16 hex>', 'commands', FIN_COUNT, chunksOf(finStream(FIN_COUNT)), parseCommands),
  measure(`CommandParser PUB ${BODY_SIZE} B`, 'commands', PUB_COUNT, chunksOf(pubStream(PUB_COUNT)), parseCommands),
  measure(`FrameDecoder message ${BODY_SIZE} B`, 'frames', FRAME_COUNT, chunksOf(messageFrameStream(FRAME_COUNT)), decodeFrames),
];

console.log(`chunks of ${CHUNK_SIZE} bytes, best of ${RUNS} runs, node ${process.version}`);
console.log(['case'.padEnd(32), 'rate'.padStart(22), 'MB/s'.padStart(10)].join(' '));
for (const result of results) {
  const rate = `${Math.round(result.perSecond).toLocaleString('en-US')} ${result.units}/s`;
  console.log([result.name.padEnd(32), rate.padStart(22), result.mbPerSecond.toFixed(1).padStart(10)].join(' '));
}
