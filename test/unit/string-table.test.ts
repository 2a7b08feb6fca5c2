import { describe, expect, it } from 'vitest';
import { StringTable, hashKey } from '../../protocol/string-table.ts';
import { seededRandom } from '../support/prng.ts';

describe('StringTable', () => {
  it('matches a Map through growth, deletions of every kind and clears, with real and colliding hashes', () => {
    const random = seededRandom(7);
    // Real hashes, and hashes from 4 and 8 values: long runs of equal hashes, found only by comparing
    // keys, whose deletions shift keys across the table's wrap.
    for (const hashOf of [hashKey, (key: string) => (hashKey(key) & 6) | 1, (key: string) => ((hashKey(key) & 0x7) << 1) | 1]) {
      const table = new StringTable<number>(2);
      const reference = new Map<string, number>();
      const universe = Array.from({ length: 300 }, (_, i) => (i * 2654435761).toString(16).padStart(16, '0'));
      for (let step = 0; step < 40_000; step++) {
        const key = universe[Math.floor(random() * (step < 20_000 ? 300 : 40))]!;
        const choice = random();
        // Plain comparisons per step (expect() costs microseconds, 240,000 times here); a mismatch
        // still fails with the step and both answers.
        if (choice < 0.5) {
          table.set(key, hashOf(key), step);
          reference.set(key, step);
        } else if (choice < 0.9) {
          const [ours, theirs] = [table.delete(key, hashOf(key)), reference.delete(key)];
          if (ours !== theirs) expect({ step, deleted: ours }).toEqual({ step, deleted: theirs });
        } else if (choice < 0.9005) {
          table.clear();
          reference.clear();
        }
        const [got, wanted] = [table.get(key, hashOf(key)), reference.get(key)];
        if (got !== wanted || table.size !== reference.size) expect({ step, got, size: table.size }).toEqual({ step, got: wanted, size: reference.size });
        if (step % 997 === 0) {
          expect([...table.valuesInAnyOrder()].sort((x, y) => x - y)).toEqual([...reference.values()].sort((x, y) => x - y));
          for (const [held, value] of reference) expect(table.get(held, hashOf(held))).toBe(value);
        }
      }
      for (const key of universe) expect(table.has(key, hashOf(key))).toBe(reference.has(key));
      expect([...table.valuesInAnyOrder()].sort((a, b) => a - b)).toEqual([...reference.values()].sort((a, b) => a - b));
    }
  });

  it('never hashes a key to the empty slot mark', () => {
    for (const key of ['', '0000000000000000', 'ffffffffffffffff', '\u0000']) expect(hashKey(key) & 1).toBe(1);
  });
});
