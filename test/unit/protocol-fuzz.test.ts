/**
 * Seeded fuzzing of the decoders. Random bytes, token soups and mutated valid streams go into
 * CommandParser, FrameDecoder and SizedPayloadDecoder, cut into random chunks. Each must either
 * produce commands/frames or throw its documented error (LineTooLongError, FrameSizeError), give the
 * same result however the stream is cut, and hold no more than its limits allow between chunks.
 * The seeds are fixed, so a failure names a case that reproduces.
 */
import { describe, expect, it } from 'vitest';
import {
  CommandParser,
  LineTooLongError,
  type CommandParserOptions,
} from '../../protocol/command-parser.ts';
import { FrameDecoder, FrameSizeError, SizedPayloadDecoder, encodeFrame, encodeSizedPayload, type FrameType } from '../../protocol/frames.ts';
import { Random, commandSoup, validCommandStream } from '../support/fuzz/corpus-v2.ts';
import { checkParsedCommand } from '../support/fuzz/targets/v2-commands.ts';

const CASES = 1000;

/** A plain check for the decoder callbacks: `expect` there would cost most of the run time. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// CommandParser

const MAX_LINE = 48;
const MAX_BODY = 64;
const PARSER_OPTIONS: CommandParserOptions = {
  bodyLimits: new Map([
    ['IDENTIFY', MAX_BODY],
    ['AUTH', 16],
    ['PUB', MAX_BODY],
    ['MPUB', MAX_BODY],
    ['DPUB', MAX_BODY],
  ]),
  maxLineLength: MAX_LINE,
};



interface ParseOutcome {
  commands: string[];
  error: string | undefined;
  maxBuffered: number;
}

function runParser(chunks: Buffer[]): ParseOutcome {
  const commands: string[] = [];
  const parser: CommandParser = new CommandParser(PARSER_OPTIONS, (command) => {
    checkParsedCommand(command, PARSER_OPTIONS.bodyLimits, parser);
    commands.push(`${JSON.stringify(command.params)} ${command.bodySize} ${command.body?.toString('hex') ?? '-'}`);
  });
  let maxBuffered = 0;
  let error: string | undefined;
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      maxBuffered = Math.max(maxBuffered, parser.bufferedBytes);
    }
  } catch (caught) {
    // Only the documented error may escape; anything else fails the test here.
    if (!(caught instanceof LineTooLongError)) throw caught;
    error = caught.code;
    expect(parser.stopped).toBe(true);
  }
  return { commands, error, maxBuffered };
}

function checkParser(stream: Buffer, random: Random, label: string): ParseOutcome {
  const whole = runParser([stream]);
  for (let round = 0; round < 2; round++) {
    const cut = runParser(random.chunks(stream));
    expect({ commands: cut.commands, error: cut.error }, label).toEqual({ commands: whole.commands, error: whole.error });
    // Between chunks the parser holds at most a line, a partial size word, or one body.
    expect(cut.maxBuffered, label).toBeLessThanOrEqual(Math.max(MAX_LINE, 3, MAX_BODY));
  }
  // Every command consumes at least its \n.
  expect(whole.commands.length, label).toBeLessThanOrEqual(stream.length);
  return whole;
}

describe('CommandParser under fuzzing', () => {
  it('random bytes: commands or LineTooLongError, the same for every cut', () => {
    const random = new Random(1);
    for (let i = 0; i < CASES; i++) checkParser(random.bytes(random.int(400)), random, `random bytes case ${i}`);
  });

  it('command soup: reaches every state and still behaves', () => {
    const random = new Random(2);
    const outcomes = new Set<string>();
    for (let i = 0; i < CASES; i++) {
      const outcome = checkParser(commandSoup(random), random, `soup case ${i}`);
      outcomes.add(outcome.error ?? (outcome.commands.length > 0 ? 'commands' : 'nothing'));
    }
    // The generator is only useful if it hits both outcomes.
    expect([...outcomes].sort()).toEqual(['E_LINE_TOO_LONG', 'commands', 'nothing'].sort());
  });

  it('mutated valid streams: commands or LineTooLongError, the same for every cut', () => {
    const random = new Random(3);
    let withBodies = 0;
    for (let i = 0; i < CASES; i++) {
      const outcome = checkParser(random.mutate(validCommandStream(random)), random, `mutated case ${i}`);
      if (outcome.commands.some((command) => !command.endsWith(' -'))) withBodies++;
    }
    expect(withBodies).toBeGreaterThan(CASES / 4);
  });

  it('unmutated valid streams parse completely', () => {
    const random = new Random(4);
    for (let i = 0; i < 200; i++) {
      const stream = validCommandStream(random);
      const outcome = checkParser(stream, random, `valid case ${i}`);
      expect(outcome.error).toBeUndefined();
      expect(outcome.commands.length).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// FrameDecoder and SizedPayloadDecoder

const MAX_FRAME = 256;

function validFrameStream(random: Random): Buffer {
  const frames: Buffer[] = [];
  const count = 1 + random.int(10);
  for (let i = 0; i < count; i++) {
    const type = random.pick([0, 1, 2]) as FrameType;
    frames.push(encodeFrame(type, random.bytes(random.int(MAX_FRAME - 4 + 1))));
  }
  return Buffer.concat(frames);
}

function frameSoup(random: Random): Buffer {
  const parts: Buffer[] = [];
  const count = random.int(20);
  for (let i = 0; i < count; i++) {
    const kind = random.int(3);
    if (kind === 0) parts.push(random.int32());
    else if (kind === 1) parts.push(random.bytes(random.int(30)));
    else parts.push(encodeFrame(random.pick([0, 1, 2]) as FrameType, random.bytes(random.int(40))));
  }
  return Buffer.concat(parts);
}

interface FrameOutcome {
  frames: string[];
  error: string | undefined;
  maxBuffered: number;
}

function runDecoder(chunks: Buffer[], sized: boolean): FrameOutcome {
  const frames: string[] = [];
  const decoder = sized
    ? new SizedPayloadDecoder((payload) => {
        check(payload.length <= MAX_FRAME, 'payload over the limit');
        frames.push(payload.toString('hex'));
      }, MAX_FRAME)
    : new FrameDecoder((type, data) => {
        check(data.length <= MAX_FRAME - 4, 'frame over the limit');
        frames.push(`${type}:${data.toString('hex')}`);
      }, MAX_FRAME);
  let maxBuffered = 0;
  let error: string | undefined;
  try {
    for (const chunk of chunks) {
      decoder.push(chunk);
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    }
  } catch (caught) {
    if (!(caught instanceof FrameSizeError)) throw caught;
    error = caught.message;
  }
  return { frames, error, maxBuffered };
}

function checkDecoder(stream: Buffer, random: Random, sized: boolean, label: string): FrameOutcome {
  const whole = runDecoder([stream], sized);
  for (let round = 0; round < 2; round++) {
    const cut = runDecoder(random.chunks(stream), sized);
    expect({ frames: cut.frames, error: cut.error }, label).toEqual({ frames: whole.frames, error: whole.error });
    expect(cut.maxBuffered, label).toBeLessThanOrEqual(MAX_FRAME);
  }
  expect(whole.frames.length, label).toBeLessThanOrEqual(stream.length / 4);
  return whole;
}

describe('FrameDecoder and SizedPayloadDecoder under fuzzing', () => {
  for (const sized of [false, true]) {
    const name = sized ? 'SizedPayloadDecoder' : 'FrameDecoder';

    it(`${name}: random bytes and soups give frames or FrameSizeError, the same for every cut`, () => {
      const random = new Random(sized ? 11 : 10);
      const outcomes = new Set<string>();
      for (let i = 0; i < CASES; i++) {
        const stream = i % 2 === 0 ? random.bytes(random.int(300)) : frameSoup(random);
        const outcome = checkDecoder(stream, random, sized, `${name} case ${i}`);
        outcomes.add(outcome.error !== undefined ? 'error' : outcome.frames.length > 0 ? 'frames' : 'nothing');
      }
      expect([...outcomes].sort()).toEqual(['error', 'frames', 'nothing']);
    });

    it(`${name}: mutated valid streams give frames or FrameSizeError, the same for every cut`, () => {
      const random = new Random(sized ? 13 : 12);
      for (let i = 0; i < CASES; i++) {
        checkDecoder(random.mutate(validFrameStream(random)), random, sized, `${name} mutated case ${i}`);
      }
    });
  }

  it('a long valid stream in random chunks keeps bufferedBytes within the frame limit and ends at 0', () => {
    const random = new Random(20);
    const frames: Buffer[] = [];
    for (let i = 0; i < 3000; i++) frames.push(encodeFrame(2, random.bytes(random.int(MAX_FRAME - 4 + 1))));
    const stream = Buffer.concat(frames);
    let seen = 0;
    const decoder = new FrameDecoder(() => {
      seen++;
    }, MAX_FRAME);
    for (const chunk of random.chunks(stream)) {
      decoder.push(chunk);
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(MAX_FRAME);
    }
    expect(seen).toBe(3000);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('nsqlookupd replies survive the same treatment', () => {
    const random = new Random(21);
    for (let i = 0; i < 300; i++) {
      const stream = Buffer.concat([encodeSizedPayload('OK'), encodeSizedPayload(random.bytes(random.int(MAX_FRAME)))]);
      const outcome = checkDecoder(stream, random, true, `lookupd case ${i}`);
      expect(outcome.frames).toHaveLength(2);
    }
  });
});
