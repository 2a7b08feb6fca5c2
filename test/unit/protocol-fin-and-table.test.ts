/**
 * The FIN fast path of the command parser gives what the general path gives, however the bytes are
 * cut; the string table agrees with a Map under heavy collisions, growth and clear.
 */
import { describe, expect, it } from 'vitest';
import { CommandParser, type Command } from '../../protocol/command-parser.ts';
import { StringTable, hashKey } from '../../protocol/string-table.ts';
import { seededRandom } from '../support/prng.ts';

function parseAll(chunks: Buffer[]): Array<Pick<Command, 'name' | 'params'>> {
  const out: Array<Pick<Command, 'name' | 'params'>> = [];
  const parser = new CommandParser({ bodyLimits: new Map() }, (command) => void out.push({ name: command.name, params: [...command.params] }));
  for (const chunk of chunks) parser.push(chunk);
  return out;
}

/** What nsqd makes of a line: the trailing \r dropped, split on every space. */
function reference(line: Buffer): Pick<Command, 'name' | 'params'> {
  let text = line.toString('latin1');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const params = text.split(' ');
  return { name: params[0]!, params };
}

describe('FIN fast path', () => {
  it('parses random FIN-like lines as the general rule does, whole and cut anywhere', () => {
    const random = seededRandom(3);
    const pick = (s: string): string => s[Math.floor(random() * s.length)]!;
    for (let round = 0; round < 3000; round++) {
      const lines: Buffer[] = [];
      for (let i = 0; i < 1 + Math.floor(random() * 6); i++) {
        const length = 14 + Math.floor(random() * 6);
        let id = '';
        for (let k = 0; k < length; k++) id += pick('0123456789abcdef \r\xff');
        const head = pick('FFFFf') + pick('IIIi') + pick('NNNn') + pick('   \t');
        lines.push(Buffer.from(head + id, 'latin1'));
      }
      const stream = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
      const expected = lines.map(reference);
      expect(parseAll([stream])).toEqual(expected);
      const cut = Math.floor(random() * stream.length);
      expect(parseAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
      expect(parseAll([...stream].map((byte) => Buffer.from([byte])))).toEqual(expected);
    }
  });
});

describe('StringTable', () => {
  it('agrees with a Map under random set, delete, clear and many keys of one home slot', () => {
    const random = seededRandom(5);
    const table = new StringTable<number>(2);
    const model = new Map<string, number>();
    // A weak hash: keys share few hashes, so runs are long and deletions shift across the wrap.
    const weak = (key: string): number => ((hashKey(key) & 0x7) << 1) | 1;
    for (let step = 0; step < 200_000; step++) {
      const key = `k${Math.floor(random() * 300)}`;
      const op = random();
      if (op < 0.5) {
        table.set(key, weak(key), step);
        model.set(key, step);
      } else if (op < 0.95) {
        expect(table.delete(key, weak(key))).toBe(model.delete(key));
      } else if (op < 0.9505) {
        table.clear();
        model.clear();
      } else {
        expect(table.get(key, weak(key))).toBe(model.get(key));
      }
      expect(table.size).toBe(model.size);
      if (step % 997 === 0) {
        expect([...table.valuesInAnyOrder()].sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
        for (const [k, v] of model) expect(table.get(k, weak(k))).toBe(v);
      }
    }
  });
});
