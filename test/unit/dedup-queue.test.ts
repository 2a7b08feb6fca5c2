import { describe, expect, it } from 'vitest';
import { DedupQueue, carryIdScope, idScopeOf, scopeAddressOf } from '../../runner/worker/dedup.ts';
import { seededRandom } from '../support/prng.ts';

/** The behaviour to match: a Set of the last `capacity` distinct keys added. */
class Reference {
  private readonly order: string[] = [];
  constructor(private readonly capacity: number) {}
  has(key: string): boolean {
    return this.order.includes(key);
  }
  add(key: string): void {
    if (this.capacity === 0 || this.has(key)) return;
    this.order.push(key);
    if (this.order.length > this.capacity) this.order.shift();
  }
  keys(): string[] {
    return [...this.order];
  }
}

/** Adds `steps` keys drawn from `universe` to a queue and to the reference, checking they agree throughout. */
function churn(capacity: number, universe: readonly string[], seed: number, steps: number, checkEvery: number): void {
  const random = seededRandom(seed);
  const queue = new DedupQueue(capacity);
  const reference = new Reference(capacity);
  for (let step = 0; step < steps; step++) {
    const key = universe[Math.floor(random() * universe.length)]!;
    expect(queue.has(key), `capacity ${capacity}, step ${step}, key ${key}`).toBe(reference.has(key));
    queue.add(key);
    reference.add(key);
    if (step % checkEvery === 0) {
      for (const each of universe) expect(queue.has(each), `capacity ${capacity}, step ${step}, key ${each}`).toBe(reference.has(each));
      expect(queue.keysOldestFirst()).toEqual(reference.keys());
      expect(queue.size).toBe(reference.keys().length);
    }
  }
}

describe('DedupQueue', () => {
  it('remembers the last `capacity` distinct keys, as a Set and a ring would, through many evictions', () => {
    for (const capacity of [0, 1, 2, 3, 7, 50]) {
      // Few distinct keys for the table's size: long probe runs, repeats and evictions of every kind.
      const universe = Array.from({ length: capacity * 3 + 5 }, (_, i) => (i * 2654435761).toString(16).padStart(16, '0'));
      churn(capacity, universe, 42, 4000, 97);
    }
  });

  it('keeps message ids packed and other keys as strings in one ring, in the order they came', () => {
    // Ids (16 characters below 256: packed) beside keys that do not pack (other lengths, a character
    // above 255), and 16-character keys a character apart, which must not be taken for each other.
    const universe = [
      ...Array.from({ length: 12 }, (_, i) => (0x0a1b2c3d4e5f + i * 4099).toString(16).padStart(16, '0')),
      'order-1',
      'order-10',
      '{"order":1}',
      'é'.repeat(16),
      'é'.repeat(15) + 'ĉ',
      'x'.repeat(17),
      'abcdefghijklmnop',
      'abcdefghijklmnoq',
      'bbcdefghijklmnop',
    ];
    for (const capacity of [1, 4, 9]) churn(capacity, universe, 7, 3000, 50);
  });

  it('tells apart keys of any length and content, the empty one included', () => {
    const queue = new DedupQueue(4);
    for (const key of ['', 'a', 'é', '{"order":1}', 'x'.repeat(1000)]) queue.add(key);
    expect(queue.has('')).toBe(false); // the oldest of five, forgotten
    for (const key of ['a', 'é', '{"order":1}', 'x'.repeat(1000)]) expect(queue.has(key)).toBe(true);
    expect(queue.has('x'.repeat(999))).toBe(false);
  });

  it('keeps one message id from two nsqd as two keys, through a snapshot too; a scope leaves other keys alone', () => {
    const one = idScopeOf('127.0.0.1:4150');
    const two = idScopeOf('127.0.0.1:4250');
    expect([one, two].every((scope) => scope > 0 && scope <= 0xffff)).toBe(true);
    expect(one).not.toBe(two);
    // The same number in every process: a --watch child's queue must match its parent's.
    expect(idScopeOf('127.0.0.1:4150')).toBe(one);

    const id = '1d8af2437f807000';
    const queue = new DedupQueue(8);
    queue.add(id, one);
    expect(queue.has(id, one)).toBe(true);
    expect(queue.has(id, two)).toBe(false);
    expect(queue.has(id)).toBe(false);
    queue.add(id, two);
    queue.add('order-1', 0);
    // A snapshot replayed into a new queue (as a --watch child is given it) keeps each scope apart.
    const copy = new DedupQueue(8);
    for (const key of queue.keysOldestFirst()) copy.add(key);
    expect([copy.has(id, one), copy.has(id, two), copy.has(id), copy.has('order-1')]).toEqual([true, true, false, true]);
    expect(copy.size).toBe(3);
  });

  it("gives the ids of a broker started on another address with the stopped one's data the stopped one's scope", () => {
    const [stopped, next, later] = ['127.0.0.1:6150', '127.0.0.1:6152', '127.0.0.1:6154'];
    const before = idScopeOf(stopped);
    expect(idScopeOf(next)).not.toBe(before);
    carryIdScope(next, stopped);
    expect([idScopeOf(next), scopeAddressOf(next)]).toEqual([before, stopped]);
    // A second move carries the first address's scope on.
    carryIdScope(later, next);
    expect([idScopeOf(later), scopeAddressOf(later)]).toEqual([before, stopped]);
  });
});

