import { describe, expect, it } from 'vitest';
import { DedupQueue } from '../../runner/worker/dedup.ts';
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

describe('DedupQueue', () => {
  it('remembers the last `capacity` distinct keys, as a Set and a ring would, through many evictions', () => {
    const random = seededRandom(42);
    for (const capacity of [0, 1, 2, 3, 7, 50]) {
      const queue = new DedupQueue(capacity);
      const reference = new Reference(capacity);
      // Few distinct keys for the table's size: long probe runs, repeats and evictions of every kind.
      const universe = Array.from({ length: capacity * 3 + 5 }, (_, i) => (i * 2654435761).toString(16).padStart(16, '0'));
      for (let step = 0; step < 4000; step++) {
        const key = universe[Math.floor(random() * universe.length)]!;
        expect(queue.has(key)).toBe(reference.has(key));
        queue.add(key);
        reference.add(key);
        if (step % 97 === 0) {
          for (const each of universe) expect(queue.has(each), `capacity ${capacity}, step ${step}, key ${each}`).toBe(reference.has(each));
          expect(queue.keysOldestFirst()).toEqual(reference.keys());
          expect(queue.size).toBe(reference.keys().length);
        }
      }
    }
  });

  it('tells apart keys of any length and content, the empty one included', () => {
    const queue = new DedupQueue(4);
    for (const key of ['', 'a', 'é', '{"order":1}', 'x'.repeat(1000)]) queue.add(key);
    expect(queue.has('')).toBe(false); // the oldest of five, forgotten
    for (const key of ['a', 'é', '{"order":1}', 'x'.repeat(1000)]) expect(queue.has(key)).toBe(true);
    expect(queue.has('x'.repeat(999))).toBe(false);
  });
});
