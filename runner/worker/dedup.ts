/**
 * A task's memory of the messages it has processed: a bounded set of keys (message ids, or the
 * worker's dedup keys). When full, the oldest key is forgotten. O(1) per check and per add, with
 * no allocation once full: every message is checked and added, and the oldest key
 * forgotten, so a `Set` of 10,000 (the default) churned, and each lookup read key strings scattered
 * over the heap (protocol/string-table.ts says what the table does instead).
 *
 * The keys are kept in a ring in the order they came. A message id (or any key of 16 characters
 * below 256) is kept packed in four integers and indexed by packed-key-index.ts, so the queue holds
 * no string of it; other keys are kept as strings in a StringTable.
 */
import { StringTable, hashKey } from '../../protocol/string-table.ts';
import { PackedKeyIndex, hashPacked, packKey, unpackKey } from './packed-key-index.ts';

export class DedupQueue {
  private readonly strings: StringTable<true>;
  private readonly packed: PackedKeyIndex;
  /** The ring, in the order keys were added; its next slot holds the oldest key once full. */
  private readonly ringStrings: (string | undefined)[];
  /** Four words per ring slot: the slot's packed key, when it holds one. */
  private readonly ringWords: Int32Array;
  /** Each ring slot's hash (0: empty), so that forgetting its key does not hash it again. */
  private readonly ringHashes: Int32Array;
  private next = 0;
  private count = 0;
  /** The key last looked at, its hash, and whether (then how) it packs: a check then an add hash it once. */
  private lastKey: string | undefined;
  private lastHash = 0;
  private lastPacked = false;
  private readonly lastWords = new Int32Array(4);

  constructor(readonly capacity: number) {
    const wanted = Math.max(0, capacity);
    // Grown as string keys come: a worker without a dedupKey keeps none (its ids are packed).
    this.strings = new StringTable<true>();
    this.ringStrings = new Array<string | undefined>(wanted).fill(undefined);
    this.ringWords = new Int32Array(wanted * 4);
    this.ringHashes = new Int32Array(wanted);
    this.packed = new PackedKeyIndex(wanted, this.ringWords);
  }

  has(key: string): boolean {
    this.look(key);
    return this.lastPacked ? this.packed.find(this.lastHash, this.lastWords) >= 0 : this.strings.has(key, this.lastHash);
  }

  add(key: string): void {
    if (this.capacity === 0 || this.has(key)) return;
    const slot = this.next;
    this.forget(slot);
    const hash = this.lastHash;
    this.ringHashes[slot] = hash;
    this.count++;
    if (this.lastPacked) {
      const { ringWords, lastWords } = this;
      const at = slot * 4;
      ringWords[at] = lastWords[0]!;
      ringWords[at + 1] = lastWords[1]!;
      ringWords[at + 2] = lastWords[2]!;
      ringWords[at + 3] = lastWords[3]!;
      this.packed.insert(hash, slot);
    } else {
      this.ringStrings[slot] = key;
      this.strings.set(key, hash, true);
    }
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
  }

  /** Every remembered key, oldest first: replaying them into a new queue rebuilds this one. */
  keysOldestFirst(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const slot = (this.next + i) % this.capacity;
      if (this.ringHashes[slot] === 0) continue;
      out.push(this.ringStrings[slot] ?? unpackKey(this.ringWords, slot * 4));
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  /** Empties ring slot `slot`, removing its key from its index. */
  private forget(slot: number): void {
    const hash = this.ringHashes[slot]!;
    if (hash === 0) return;
    this.count--;
    const key = this.ringStrings[slot];
    if (key === undefined) this.packed.remove(slot);
    else {
      this.strings.delete(key, hash);
      this.ringStrings[slot] = undefined;
    }
    this.ringHashes[slot] = 0;
  }

  private look(key: string): void {
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.lastPacked = packKey(key, this.lastWords);
    const words = this.lastWords;
    this.lastHash = this.lastPacked ? hashPacked(words[0]!, words[1]!, words[2]!, words[3]!) : hashKey(key);
  }
}
