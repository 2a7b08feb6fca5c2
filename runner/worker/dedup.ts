/**
 * A task's memory of the messages it has processed: a bounded set of keys (message ids, or the
 * worker's dedup keys). When full, the oldest key is forgotten. O(1) per check and per add.
 *
 * An open-addressing table of our own rather than a `Set`: every message is checked and added, and
 * the oldest key forgotten, so a `Set` of 10,000 (the default) churned, and each lookup read key
 * strings scattered over the heap. Here a lookup reads slots' hashes from one typed array (0 marks
 * an empty slot) and reads a key only when the hashes agree; no allocation after construction. Linear probing at a
 * load of at most a half; a forgotten key's slot is emptied by moving back the keys after it
 * (backward-shift deletion), so no tombstones build up.
 */
export class DedupQueue {
  /** The key in each slot, or undefined. The table's size is a power of two, at least twice the capacity. */
  private readonly slots: (string | undefined)[];
  private readonly hashes: Int32Array;
  private readonly mask: number;
  /** The keys in the order they were added: a ring whose next slot holds the oldest key once full. */
  private readonly order: (string | undefined)[];
  /** The hash of each key in `order`, so that forgetting one does not hash it again. */
  private readonly orderHashes: Int32Array;
  private next = 0;
  private count = 0;
  /** The key last hashed and its hash: a task's key is checked, then added, so each is hashed once. */
  private lastKey: string | undefined;
  private lastHash = 0;

  constructor(readonly capacity: number) {
    const wanted = Math.max(0, capacity);
    let size = 8;
    while (size < wanted * 2) size *= 2;
    this.slots = new Array<string | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    this.order = new Array<string | undefined>(wanted).fill(undefined);
    this.orderHashes = new Int32Array(wanted);
  }

  has(key: string): boolean {
    return this.find(key, this.hashOf(key)) >= 0;
  }

  add(key: string): void {
    if (this.capacity === 0) return;
    const hash = this.hashOf(key);
    const found = this.find(key, hash);
    if (found >= 0) return;
    const evicted = this.order[this.next];
    if (evicted !== undefined) this.remove(evicted, this.orderHashes[this.next]!);
    // Probed again: removing the evicted key may have moved keys into the free slot found above.
    const free = evicted === undefined ? -1 - found : -1 - this.find(key, hash);
    this.slots[free] = key;
    this.hashes[free] = hash;
    this.order[this.next] = key;
    this.orderHashes[this.next] = hash;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (evicted === undefined) this.count++;
  }

  /** Every remembered key, oldest first: replaying them into a new queue rebuilds this one. */
  keysOldestFirst(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const key = this.order[(this.next + i) % this.capacity];
      if (key !== undefined) out.push(key);
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  private hashOf(key: string): number {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastHash = fnv1a(key);
    }
    return this.lastHash;
  }

  /** The key's slot, or -1 - the empty slot where it would go. */
  private find(key: string, hash: number): number {
    const { slots, hashes, mask } = this;
    for (let i = homeOf(hash, mask); ; i = (i + 1) & mask) {
      const slotHash = hashes[i]!;
      if (slotHash === EMPTY) return -1 - i;
      if (slotHash === hash && slots[i] === key) return i;
    }
  }

  private remove(key: string, hash: number): void {
    const { slots, hashes, mask } = this;
    let hole = this.find(key, hash);
    if (hole < 0) return;
    // Backward shift: a later key of the same run moves into the hole unless its home slot lies
    // between the hole and it (then it is already as near its home as it can be).
    for (let i = (hole + 1) & mask; hashes[i] !== EMPTY; i = (i + 1) & mask) {
      const home = homeOf(hashes[i]!, mask);
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        slots[hole] = slots[i];
        hashes[hole] = hashes[i]!;
        hole = i;
      }
    }
    slots[hole] = undefined;
    hashes[hole] = EMPTY;
  }
}

/** The hash of an empty slot: no key's hash (fnv1a sets the lowest bit). */
const EMPTY = 0;

/** A hash's home slot, from the bits above the lowest (always set), or every home would be odd. */
function homeOf(hash: number, mask: number): number {
  return (hash >>> 1) & mask;
}

/** FNV-1a over the key's UTF-16 code units (message ids are 16 hex characters), never {@link EMPTY}. */
function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash | 1;
}
