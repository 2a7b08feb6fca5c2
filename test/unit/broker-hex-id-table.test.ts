/**
 * The broker's table of messages in flight by id halves (broker/nsqd/hex-id-table.ts) against a Map,
 * and the id halves themselves (protocol/message-id-hex.ts): exact for lowercase hex, and every
 * other id left as text, as nsqd compares ids byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { HexIdTable } from '../../broker/nsqd/hex-id-table.ts';
import { emptyMessageKey, hexIdText, keyOfText, keyText, parseHexId, writeHexId } from '../../protocol/message-id-hex.ts';
import { MessageIdGenerator } from '../../broker/nsqd/message-id.ts';
import { seededRandom } from '../support/prng.ts';

describe('HexIdTable', () => {
  it('matches a Map through growth, deletions across the wrap and clears', () => {
    const random = seededRandom(11);
    // Ids as a broker makes them (consecutive sequences, a millisecond apart), ids that differ
    // only in the high half, and halves with the top bit set (negative as int32).
    const generator = new MessageIdGenerator(7);
    const universe: Array<[number, number]> = [];
    for (let i = 0; i < 200; i++) {
      generator.advance(1_796_000_000_000 + Math.floor(i / 50));
      universe.push([generator.high, generator.low]);
    }
    for (let i = 0; i < 100; i++) universe.push([i, 5], [-1 - i, -5], [0x7fffffff, i << 20]);
    const table = new HexIdTable<number>(2);
    const reference = new Map<string, number>();
    for (let step = 0; step < 60_000; step++) {
      const [high, low] = universe[Math.floor(random() * (step < 30_000 ? universe.length : 24))]!;
      const name = `${high}:${low}`;
      const choice = random();
      if (choice < 0.5) {
        table.set(high, low, step);
        reference.set(name, step);
      } else if (choice < 0.9) {
        const [ours, theirs] = [table.delete(high, low), reference.delete(name)];
        if (ours !== theirs) expect({ step, deleted: ours }).toEqual({ step, deleted: theirs });
      } else if (choice < 0.9005) {
        table.clear();
        reference.clear();
      }
      const [got, wanted] = [table.get(high, low), reference.get(name)];
      if (got !== wanted || table.size !== reference.size) expect({ step, got, size: table.size }).toEqual({ step, got: wanted, size: reference.size });
      if (step % 997 === 0) expect([...table.valuesInAnyOrder()].sort((x, y) => x - y)).toEqual([...reference.values()].sort((x, y) => x - y));
    }
    for (const [high, low] of universe) expect(table.get(high, low)).toBe(reference.get(`${high}:${low}`));
  });
});

describe('message id halves', () => {
  it('parse and write back every lowercase hex id exactly, the top bits included', () => {
    const random = seededRandom(5);
    const key = emptyMessageKey();
    const written = Buffer.alloc(20, 0x2e);
    for (let i = 0; i < 2000; i++) {
      let id = '';
      for (let k = 0; k < 16; k++) id += '0123456789abcdef'[i < 16 ? (k === 0 || k === 8 ? i : 15 - i) : Math.floor(random() * 16)];
      expect(parseHexId(Buffer.from(`x${id}`, 'latin1'), 1, key)).toBe(true);
      expect(hexIdText(key.high, key.low)).toBe(id);
      expect(key.high | 0).toBe(key.high);
      writeHexId(written, 2, key.high, key.low);
      expect(written.toString('latin1')).toBe(`..${id}..`);
      expect(keyText(keyOfText(id, emptyMessageKey()))).toBe(id);
    }
  });

  it('leave every other id as its text: uppercase, other bytes, other lengths', () => {
    for (const id of ['0000000000000ABC', '000000000000000g', '00000000 0000000', 'ffffffffffffff\u00ff', '\u01000000000000000', 'abc', '0123456789abcdef0']) {
      expect(keyOfText(id, emptyMessageKey())).toEqual({ high: 0, low: 0, text: id });
      if (id.length === 16 && id.charCodeAt(0) < 256) expect(parseHexId(Buffer.from(id, 'latin1'), 0, emptyMessageKey())).toBe(false);
    }
    const key = { high: 3, low: 4, text: undefined };
    expect(parseHexId(Buffer.from('000000000000000G'), 0, key)).toBe(false);
    expect(key).toEqual({ high: 3, low: 4, text: undefined });
    expect(() => parseHexId(Buffer.alloc(16), 1, key)).toThrow(RangeError);
  });
});
