/**
 * The fuzzer's mutations, stacked one to eight at a time (AFL's havoc): bit flips, random bytes,
 * inserted and deleted runs, duplicated runs, a splice with another corpus entry, dictionary tokens,
 * and interesting integers or small arithmetic at places that look like size fields.
 */

const INTERESTING = [0, 1, -1, 2, 4, 16, 64, 100, 127, 128, 255, 256, 1000, 4096, 32767, 32768, 65535, 65536, 65537, 0x7fffffff, -0x80000000, 0x48545450];

export class Mutator {
  private readonly dictionary: Buffer[];

  constructor(
    private readonly random: () => number,
    dictionary: readonly string[],
    private readonly maxLength: number,
  ) {
    this.dictionary = dictionary.map((token) => Buffer.from(token, 'latin1'));
  }

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  /** A mutant of `input`; `other` gives another corpus entry to splice with. */
  mutate(input: Buffer, other: () => Buffer): Buffer {
    let out: Buffer = Buffer.from(input);
    for (let i = 1 << this.int(4); i > 0; i--) out = this.once(out, other);
    return out.length > this.maxLength ? out.subarray(0, this.maxLength) : out;
  }

  private once(out: Buffer, other: () => Buffer): Buffer {
    const at = this.int(out.length + 1);
    switch (this.int(10)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << this.int(8);
        return out;
      case 1:
        if (out.length > 0) out[Math.min(at, out.length - 1)] = this.int(256);
        return out;
      case 2:
        return insert(out, at, this.bytes(1 + this.int(this.int(2) === 0 ? 4 : 32)));
      case 3:
        return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(this.int(2) === 0 ? 4 : 64))]);
      case 4: {
        const from = this.int(out.length + 1);
        return insert(out, at, out.subarray(from, from + 1 + this.int(32)));
      }
      case 5: {
        const donor = other();
        const from = this.int(donor.length + 1);
        return this.int(2) === 0
          ? Buffer.concat([out.subarray(0, at), donor.subarray(from)])
          : insert(out, at, donor.subarray(from, from + 1 + this.int(64)));
      }
      case 6:
      case 7: {
        if (this.dictionary.length === 0) return out;
        const token = this.dictionary[this.int(this.dictionary.length)]!;
        if (this.int(2) === 0) return insert(out, at, token);
        return Buffer.concat([out.subarray(0, at), token, out.subarray(at + token.length)]);
      }
      default:
        return this.sizeField(out);
    }
  }

  /** An interesting value, or the value there plus or minus a little, at a likely size field. */
  private sizeField(out: Buffer): Buffer {
    const width = [1, 2, 4][this.int(3)]!;
    if (out.length < width) return out;
    const candidates = sizeFieldOffsets(out, width);
    const at = candidates.length > 0 && this.int(4) !== 0 ? candidates[this.int(candidates.length)]! : this.int(out.length - width + 1);
    const littleEndian = this.int(4) === 0;
    const current = width === 1 ? out[at]! : littleEndian ? out.readUIntLE(at, width) : out.readUIntBE(at, width);
    const value = this.int(2) === 0 ? INTERESTING[this.int(INTERESTING.length)]! : current + this.int(33) - 16;
    const bits = 8 * width;
    const wrapped = ((value % 2 ** bits) + 2 ** bits) % 2 ** bits;
    if (width === 1) out[at] = wrapped;
    else if (littleEndian) out.writeUIntLE(wrapped, at, width);
    else out.writeUIntBE(wrapped, at, width);
    return out;
  }

  private bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

function insert(out: Buffer, at: number, piece: Buffer): Buffer {
  return Buffer.concat([out.subarray(0, at), piece, out.subarray(at)]);
}

/** Offsets right after a `\n` (where protocol V2 puts its size words) and of small big-endian values. */
function sizeFieldOffsets(out: Buffer, width: number): number[] {
  const found: number[] = [];
  for (let i = 0; i + width <= out.length && found.length < 64; i++) {
    if ((i > 0 && out[i - 1] === 0x0a) || (width === 4 && out.readUInt32BE(i) <= out.length * 4 && out.readUInt32BE(i) > 0)) found.push(i);
  }
  return found;
}
