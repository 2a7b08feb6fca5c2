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
 *
 * A message id is unique at the nsqd that made it only: nsqd's ids are the time, its --node-id and a
 * sequence from 0 in each millisecond (nsqd/guid.go), and two nsqd on one host take the same node id
 * by default. An id is therefore kept with a scope, a 16-bit number from its nsqd's address
 * ({@link idScopeOf}), set into bit 7 of its 16 characters' bytes, where a hex digit has none: the
 * same id from two nsqd is two keys. A snapshot (keysOldestFirst) gives such a key as the string of
 * those bytes, which packs to the same words again.
 */
import { StringTable, hashKey } from '../../protocol/string-table.ts';
import { PackedKeyIndex, hashPacked, packKey, unpackKey } from './packed-key-index.ts';

/** For each 4 bits of a scope, the word that sets them as bit 7 of a packed word's four bytes. */
const SCOPE_BITS = Int32Array.from({ length: 16 }, (_, bits) => {
  let word = 0;
  for (let byte = 0; byte < 4; byte++) if ((bits >> byte) & 1) word |= 0x80 << (8 * byte);
  return word;
});

/** Each address's scope, as {@link idScopeOf} computed it: a worker reads from a few nsqd, each message names one. */
const scopes = new Map<string, number>();
/** Addresses whose nsqd holds the messages of an nsqd that was at another: see {@link carryIdScope}. */
const carriedFrom = new Map<string, string>();

/**
 * Says that the nsqd now at `address` holds the messages, and so the ids, of the one that was at
 * `previous`: the embedded broker a joined worker starts on its own address, on the stopped one's
 * data path (embedded-takeover.ts). Their ids then share one scope, and a redelivery of a message
 * the worker processed before the move is still known.
 */
export function carryIdScope(address: string, previous: string): void {
  if (address === previous) return;
  carriedFrom.set(address, scopeAddressOf(previous));
  scopes.delete(address);
}

/** The address whose scope the ids from `address` take (itself, unless {@link carryIdScope} said otherwise). */
export function scopeAddressOf(address: string): string {
  return carriedFrom.get(address) ?? address;
}

/**
 * The scope of the message ids from the nsqd at `address` (host:port): a 16-bit number, never 0,
 * the same in every process for one address (a worker's --watch child is given
 * {@link scopeAddressOf} its message's address, and keeps the keys its parent gave it). Two addresses
 * share one with a chance of 1 in 65,535; their ids then collide only if their node ids do too.
 */
export function idScopeOf(address: string): number {
  const known = scopes.get(address);
  if (known !== undefined) return known;
  const scoped = scopeAddressOf(address);
  // FNV-1a, folded to 16 bits.
  let hash = 0x811c9dc5;
  for (let i = 0; i < scoped.length; i++) hash = Math.imul(hash ^ scoped.charCodeAt(i), 0x01000193);
  const folded = ((hash >>> 16) ^ hash) & 0xffff;
  const scope = folded === 0 ? 1 : folded;
  scopes.set(address, scope);
  return scope;
}

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
  private lastScope = 0;
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

  /** Whether `key` is remembered; `scope` (0: none) as {@link idScopeOf} gives for a message id. */
  has(key: string, scope = 0): boolean {
    this.look(key, scope);
    return this.lastPacked ? this.packed.find(this.lastHash, this.lastWords) >= 0 : this.strings.has(key, this.lastHash);
  }

  /** Remembers `key` in `scope` (see has), forgetting the oldest key when full. */
  add(key: string, scope = 0): void {
    if (this.capacity === 0 || this.has(key, scope)) return;
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

  private look(key: string, scope: number): void {
    if (key === this.lastKey && scope === this.lastScope) return;
    this.lastKey = key;
    this.lastScope = scope;
    this.lastPacked = packKey(key, this.lastWords);
    const words = this.lastWords;
    if (this.lastPacked && scope !== 0) {
      for (let word = 0; word < 4; word++) words[word]! ^= SCOPE_BITS[(scope >> (4 * word)) & 15]!;
    }
    this.lastHash = this.lastPacked ? hashPacked(words[0]!, words[1]!, words[2]!, words[3]!) : hashKey(key);
  }
}
