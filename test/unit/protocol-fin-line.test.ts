/**
 * The FIN fast path of the command parser gives what the general path gives, however the bytes are
 * cut. (The string table's model test, with heavy collisions, is string-table.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { CommandParser, type Command } from '../../protocol/command-parser.ts';
import { keyText } from '../../protocol/message-id-hex.ts';
import { seededRandom } from '../support/prng.ts';

function parseAll(chunks: Buffer[], reuseFinCommand = false): Array<Pick<Command, 'name' | 'params'>> {
  const out: Array<Pick<Command, 'name' | 'params'>> = [];
  const parser = new CommandParser({ bodyLimits: new Map(), reuseFinCommand }, (command) => void out.push({ name: command.name, params: paramsOf(command) }));
  for (const chunk of chunks) parser.push(chunk);
  return out;
}

/** The command's params, its id as text where the fast path gave it as halves. */
function paramsOf(command: Command): string[] {
  return command.finId === undefined ? [...command.params] : [...command.params, keyText(command.finId)];
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
        for (let k = 0; k < length; k++) id += pick('0123456789abcdefA \r\xff');
        const head = pick('FFFFf') + pick('IIIi') + pick('NNNn') + pick('   \t');
        lines.push(Buffer.from(head + id, 'latin1'));
      }
      const stream = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
      const expected = lines.map(reference);
      expect(parseAll([stream])).toEqual(expected);
      const cut = Math.floor(random() * stream.length);
      expect(parseAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
      expect(parseAll([...stream].map((byte) => Buffer.from([byte])))).toEqual(expected);
      expect(parseAll([stream.subarray(0, cut), stream.subarray(cut)], true)).toEqual(expected);
    }
  });

  it('hands every FIN over as one object with reuseFinCommand, and a fresh one each time without', () => {
    const lines = Buffer.from('FIN 0000000000000001\nFIN 0000000000000002\n');
    for (const reuse of [true, false]) {
      const seen: Array<{ command: Command; id: string }> = [];
      const parser = new CommandParser({ bodyLimits: new Map(), reuseFinCommand: reuse }, (command) => void seen.push({ command, id: paramsOf(command)[1]! }));
      parser.push(lines);
      expect(seen.map((each) => each.id)).toEqual(['0000000000000001', '0000000000000002']);
      expect(seen[0]!.command === seen[1]!.command).toBe(reuse);
    }
  });

  it('gives a FIN id as its halves only when it is 16 lowercase hex digits: nsqd tells ...abc from ...ABC', () => {
    const seen: Command[] = [];
    const parser = new CommandParser({ bodyLimits: new Map(), reuseFinCommand: true }, (command) => void seen.push({ ...command, finId: command.finId && { ...command.finId } }));
    parser.push(Buffer.from('FIN 00000000ffffffff\nFIN 0000000000000ABC\nFIN 000000000000\xffabc\n', 'latin1'));
    expect(seen[0]!.finId).toEqual({ high: 0, low: -1, text: undefined });
    expect(seen[0]!.params).toEqual(['FIN']);
    expect(seen.slice(1).map((command) => [command.finId, command.params])).toEqual([
      [undefined, ['FIN', '0000000000000ABC']],
      [undefined, ['FIN', '000000000000\xffabc']],
    ]);
  });
});
