/**
 * Fuzz target: the broker's protocol V2 command parser (protocol/command-parser.ts) and what reads
 * its parameters and bodies (MPUB bodies, RDY/REQ numbers). The same stream must parse the same
 * whole, cut into pieces, and byte by byte; the parser holds no more than its limits between chunks;
 * a body is exactly its size word long; and the cut-off command at the end of the stream is sound.
 */
import { CommandParser, LineTooLongError, type Command } from '../../../../protocol/command-parser.ts';
import { MpubFormatError, parseMpubRanges } from '../../../../protocol/commands.ts';
import { parseBase10 } from '../../../../broker/nsqd/base10.ts';
import { Fuzz, command } from '../corpus-broker.ts';
import { Random, commandSoup, validCommandStream } from '../corpus-v2.ts';
import { seededRandom } from '../../prng.ts';
import { cutPoints, invariant, type FuzzTarget } from '../target.ts';

const MAX_LINE = 512;
const MAX_MSG = 256;
const MAX_BODY = 1024;
const LIMITS = new Map([
  ['PUB', MAX_MSG],
  ['DPUB', MAX_MSG],
  ['MPUB', MAX_BODY],
  ['IDENTIFY', MAX_BODY],
  ['AUTH', MAX_BODY],
]);

interface Parsed {
  commands: string[];
  error: string | undefined;
  truncated: string | undefined;
}

function describe(command: Command): string {
  return `${JSON.stringify(command.params)} ${command.bodySize} ${command.body?.toString('hex') ?? '-'}`;
}

/** What the parser promises of every command it hands over, given its body limits. */
export function checkParsedCommand(command: Command, limits: ReadonlyMap<string, number>, parser: CommandParser): void {
  invariant(command.params[0] === command.name, 'the name is not the first parameter');
  const limit = limits.get(command.name);
  if (limit === undefined) {
    invariant(command.bodySize === -1 && command.body === undefined, 'a command without a body has one');
  } else if (command.bodySize > 0 && command.bodySize <= limit) {
    invariant(command.body?.length === command.bodySize, 'the body is not its size word long');
  } else {
    invariant(command.body === undefined && parser.stopped, 'a bad size word left a body, or parsing went on');
  }
}

function check(command: Command, parser: CommandParser): void {
  checkParsedCommand(command, LIMITS, parser);
  if (command.name === 'MPUB' && command.body !== undefined) {
    try {
      const ranges = parseMpubRanges(command.body, { maxMsgSize: MAX_MSG, maxBodySize: MAX_BODY });
      let total = 4;
      for (let i = 0; i < ranges.length; i += 2) {
        const [start, end] = [ranges[i]!, ranges[i + 1]!];
        invariant(end - start > 0 && end - start <= MAX_MSG, 'an MPUB message out of bounds');
        invariant(start === total + 4 && end <= command.body.length, 'an MPUB message range not right after the one before');
        total = end;
      }
      invariant(total <= command.body.length, 'MPUB messages longer than their body');
    } catch (error) {
      if (!(error instanceof MpubFormatError)) throw error;
    }
  }
  if ((command.name === 'RDY' || command.name === 'REQ') && command.params.length > 1) {
    const value = parseBase10(command.params[command.name === 'RDY' ? 1 : 2] ?? '');
    invariant(value === undefined || value >= 0, 'a base-10 parameter parsed negative');
  }
}

function parse(chunks: Buffer[]): Parsed {
  const commands: string[] = [];
  const parser: CommandParser = new CommandParser({ bodyLimits: LIMITS, maxLineLength: MAX_LINE }, (parsed) => {
    check(parsed, parser);
    commands.push(describe(parsed));
  });
  let error: string | undefined;
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      invariant(parser.bufferedBytes <= Math.max(MAX_LINE, 3 + MAX_BODY), `the parser holds ${parser.bufferedBytes} bytes`);
    }
  } catch (caught) {
    if (!(caught instanceof LineTooLongError)) throw caught;
    invariant(parser.stopped, 'a line too long did not stop the parser');
    error = caught.code;
  }
  const cut = parser.endOfStream();
  if (cut !== undefined) {
    invariant(LIMITS.has(cut.name), 'a command without a body was cut off');
    invariant(cut.truncated !== 'body' || (cut.body !== undefined && cut.body.length < cut.bodySize), 'a cut-off body is whole');
  }
  return { commands, error, truncated: cut === undefined ? undefined : `${cut.truncated} ${describe(cut)}` };
}

export function v2CommandsTarget(): FuzzTarget {
  return {
    name: 'v2-commands',
    maxLength: 4096,
    coverage: /\/protocol\/(command-parser|commands)\.ts|\/broker\/nsqd\/base10\.ts/,
    dictionary: ['PUB ', 'MPUB ', 'DPUB ', 'IDENTIFY', 'AUTH', 'SUB ', 'RDY ', 'FIN ', 'REQ ', 'TOUCH ', 'NOP', 'CLS', '\n', '\r\n', ' ', '\0\0\0\x04'],
    seeds() {
      const random = new Random(1);
      const fuzz = new Fuzz(seededRandom(2));
      const seeds: Buffer[] = [];
      for (let i = 0; i < 40; i++) seeds.push(validCommandStream(random, MAX_MSG), commandSoup(random));
      for (let i = 0; i < 40; i++) seeds.push(Buffer.concat(Array.from({ length: 1 + fuzz.int(6) }, () => command(fuzz))).subarray(0, 4096));
      return seeds;
    },
    run(input) {
      const whole = parse([input]);
      const expected = JSON.stringify(whole);
      for (const chunks of [cutPoints(input, 7), cutPoints(input, input.length)]) {
        invariant(JSON.stringify(parse(chunks)) === expected, 'the stream parses differently when cut');
      }
    },
    expected: () => false,
    close() {},
  };
}
