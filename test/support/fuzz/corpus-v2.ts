/**
 * Protocol V2 command streams for fuzzing: well-formed ones built with the client's encoders, and
 * command-ish token soups that reach the parser's body and size states. Shared by the seeded fuzz test
 * (test/unit/protocol-fuzz.test.ts) and the coverage-guided fuzzer's seed corpus.
 */
import {
  CLS,
  NOP,
  encodeAuth,
  encodeDpub,
  encodeFin,
  encodeIdentify,
  encodeMpub,
  encodePub,
  encodeRdy,
  encodeReq,
  encodeSub,
  encodeTouch,
} from '../../../protocol/commands.ts';
import { seededRandom } from '../prng.ts';

/** Seeded choices for building and cutting fuzz input. */
export class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
  int32(): Buffer {
    const out = Buffer.alloc(4);
    // Mostly small sizes, sometimes zero, negative or huge.
    const value = this.pick([this.int(20), this.int(300), 0, -1, -this.int(0x7fffffff), this.int(0x7fffffff), 0x48545450]);
    out.writeInt32BE(value | 0);
    return out;
  }
  /** Cuts `stream` into random chunks, empty ones included. */
  chunks(stream: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < stream.length) {
      const size = this.pick([0, 1, 1, 2, 3, 5, 8, 13, 64, 1000]);
      out.push(stream.subarray(offset, offset + size));
      offset += size;
    }
    return out;
  }
  /** A few random edits of a valid stream: flips, inserts, deletes, duplicates, truncation, new size words. */
  mutate(stream: Buffer): Buffer {
    let out = Buffer.from(stream);
    const edits = 1 + this.int(4);
    for (let edit = 0; edit < edits; edit++) {
      const at = this.int(out.length + 1);
      switch (this.int(6)) {
        case 0:
          if (out.length > 0) out[Math.min(at, out.length - 1)] = this.int(256);
          break;
        case 1:
          out = Buffer.concat([out.subarray(0, at), this.bytes(1 + this.int(8)), out.subarray(at)]);
          break;
        case 2:
          out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(16))]);
          break;
        case 3: {
          const length = 1 + this.int(40);
          out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + length), out.subarray(at)]);
          break;
        }
        case 4:
          out = out.subarray(0, at);
          break;
        default:
          out = Buffer.concat([out.subarray(0, at), this.int32(), out.subarray(at + 4)]);
      }
    }
    return out;
  }
}

const TOPICS = ['t', 'orders', 'a.b_c-d', 'x#ephemeral'];
export const ID = '0123456789abcdef';

function validCommand(random: Random, maxBody: number): Buffer {
  switch (random.int(12)) {
    case 0:
      return encodeIdentify({ client_id: 'c', heartbeat_interval: random.int(60000) });
    case 1:
      return encodeAuth(random.bytes(1 + random.int(15)));
    case 2:
      return encodeSub(random.pick(TOPICS), 'ch');
    case 3:
      return encodePub(random.pick(TOPICS), random.bytes(1 + random.int(maxBody)));
    case 4:
      return encodeMpub('t', [random.bytes(1 + random.int(10)), random.bytes(1 + random.int(10))]);
    case 5:
      return encodeDpub('t', random.int(100000), random.bytes(1 + random.int(maxBody)));
    case 6:
      return encodeRdy(random.int(2501));
    case 7:
      return encodeFin(ID);
    case 8:
      return encodeReq(ID, random.int(10000));
    case 9:
      return encodeTouch(ID);
    case 10:
      return random.pick([NOP, CLS, Buffer.from('NOP\r\n'), Buffer.from('\n')]);
    default:
      return Buffer.from(`RDY  ${random.int(9)} \r\n`);
  }
}

/** One to twelve well-formed commands, bodies up to `maxBody` bytes. */
export function validCommandStream(random: Random, maxBody = 64): Buffer {
  const commands: Buffer[] = [];
  const count = 1 + random.int(12);
  for (let i = 0; i < count; i++) commands.push(validCommand(random, maxBody));
  return Buffer.concat(commands);
}

/** Command-ish tokens, so random streams reach the body and size states, not just the line limit. */
export function commandSoup(random: Random): Buffer {
  const tokens = ['PUB', 'MPUB', 'DPUB', 'IDENTIFY', 'AUTH', 'NOP', 'FIN', ' ', ' ', '\n', '\n', '\r\n', '\r', 't', ID];
  const parts: Buffer[] = [];
  const count = random.int(40);
  for (let i = 0; i < count; i++) {
    const kind = random.int(10);
    if (kind < 6) parts.push(Buffer.from(random.pick(tokens)));
    else if (kind < 8) parts.push(random.int32());
    else parts.push(random.bytes(random.int(20)));
  }
  return Buffer.concat(parts);
}
