/**
 * A map from strings to values for the per-message paths (the runner's dedup keys; the broker's
 * messages in flight are keyed by their ids' halves instead, broker/nsqd/hex-id-table.ts): open addressing with linear probing over a power-of-two table, at a
 * load of at most a half. Each slot's hash sits in one typed array (0 marks an empty slot), so a
 * lookup reads a key only when the hashes agree; a deleted key's slot is emptied by moving back the
 * keys after it (backward-shift deletion), so no tombstones build up and nothing is allocated until
 * the table grows. A `Map` churned by an add and a delete per message cost 20% of the broker's time
 * under nsq's bench_reader, and a `Set` 14% of a worker's; this costs about half of that.
 *
 * Callers pass each key's {@link hashKey}, so that one hashed for a check is not hashed again to add it.
 */
export class StringTable<V> {
  private keys: (string | undefined)[] = [];
  private values: (V | undefined)[] = [];
  private hashes = new Int32Array(0);
  private mask = 0;
  private count = 0;

  /** `capacity`: keys it holds without growing (default 8); past it, it doubles. */
  constructor(capacity = 8) {
    this.allocate(tableSizeFor(capacity));
  }

  get size(): number {
    return this.count;
  }

  get(key: string, hash: number): V | undefined {
    const slot = this.find(key, hash);
    return slot >= 0 ? this.values[slot] : undefined;
  }

  has(key: string, hash: number): boolean {
    return this.find(key, hash) >= 0;
  }

  /** Adds the key, or replaces its value. */
  set(key: string, hash: number, value: V): void {
    let slot = this.find(key, hash);
    if (slot >= 0) {
      this.values[slot] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.hashes.length) {
      this.grow();
      slot = this.find(key, hash);
    }
    slot = -1 - slot;
    this.keys[slot] = key;
    this.values[slot] = value;
    this.hashes[slot] = hash;
    this.count++;
  }

  /** Removes the key; false when it was not there. */
  delete(key: string, hash: number): boolean {
    const { keys, values, hashes, mask } = this;
    let hole = this.find(key, hash);
    if (hole < 0) return false;
    // Backward shift: a later key of the same run moves into the hole unless its home slot lies
    // between the hole and it (then it is already as near its home as it can be).
    for (let i = (hole + 1) & mask; hashes[i] !== EMPTY; i = (i + 1) & mask) {
      const home = homeOf(hashes[i]!, mask);
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        keys[hole] = keys[i];
        values[hole] = values[i];
        hashes[hole] = hashes[i]!;
        hole = i;
      }
    }
    keys[hole] = undefined;
    values[hole] = undefined;
    hashes[hole] = EMPTY;
    this.count--;
    return true;
  }

  /** Every value, in no particular order. */
  *valuesInAnyOrder(): IterableIterator<V> {
    const { values, hashes } = this;
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== EMPTY) yield values[i]!;
  }

  /** Empties it, keeping its size. */
  clear(): void {
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.hashes.fill(EMPTY);
    this.count = 0;
  }

  /** The key's slot, or -1 - the empty slot where it would go. */
  private find(key: string, hash: number): number {
    const { keys, hashes, mask } = this;
    for (let i = homeOf(hash, mask); ; i = (i + 1) & mask) {
      const slotHash = hashes[i]!;
      if (slotHash === EMPTY) return -1 - i;
      if (slotHash === hash && keys[i] === key) return i;
    }
  }

  private grow(): void {
    const { keys, values, hashes } = this;
    this.allocate(hashes.length * 2);
    for (let i = 0; i < hashes.length; i++) {
      if (hashes[i] === EMPTY) continue;
      const slot = -1 - this.find(keys[i]!, hashes[i]!);
      this.keys[slot] = keys[i];
      this.values[slot] = values[i];
      this.hashes[slot] = hashes[i]!;
    }
  }

  private allocate(size: number): void {
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
  }
}

/** FNV-1a over the key's UTF-16 code units, never the empty slot's 0 (the lowest bit is set). */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash | 1;
}

/** The hash of an empty slot. */
const EMPTY = 0;

/** The table size for `capacity` keys at a load of at most a half: a power of two, at least 8. */
function tableSizeFor(capacity: number): number {
  let size = 8;
  while (size < capacity * 2) size *= 2;
  return size;
}

/** A hash's home slot, from the bits above the lowest (always set), or every home would be odd. */
function homeOf(hash: number, mask: number): number {
  return (hash >>> 1) & mask;
}
