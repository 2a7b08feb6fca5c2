import { describe, expect, it } from 'vitest';
import {
  CLS,
  MAGIC_V1,
  MAGIC_V2,
  NOP,
  encodeAuth,
  encodeCommand,
  encodeDpub,
  encodeFin,
  encodeIdentify,
  encodeMpub,
  encodePub,
  encodeRdy,
  encodeReq,
  encodeSub,
  encodeTouch,
  MpubFormatError,
  parseMpubRanges,
  type MpubLimits,
} from '../../protocol/commands.ts';
import {
  CommandParser,
  DEFAULT_MAX_LINE_LENGTH,
  LineTooLongError,
  type Command,
  type CommandParserOptions,
} from '../../protocol/command-parser.ts';
import { decodeMessagePayload, encodeMessagePayload } from '../../protocol/message.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const bytes = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part)));
const int32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
};

function unpooled(source: Buffer): Buffer {
  const copy = Buffer.alloc(source.length);
  source.copy(copy);
  return copy;
}

function chunkings(stream: Buffer): { label: string; chunks: Buffer[] }[] {
  const out: { label: string; chunks: Buffer[] }[] = [{ label: 'one chunk', chunks: [stream] }];
  for (let cut = 0; cut <= stream.length; cut++) {
    out.push({ label: `cut at ${cut}`, chunks: [stream.subarray(0, cut), stream.subarray(cut)] });
  }
  const single: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) single.push(stream.subarray(i, i + 1));
  out.push({ label: 'byte by byte', chunks: single });
  return out;
}

const ID = '0123456789abcdef';

describe('command encoders, byte for byte', () => {
  it('magic words', () => {
    expect(MAGIC_V2).toEqual(hex('20205632'));
    expect(MAGIC_V1).toEqual(hex('20205631'));
  });

  it('encodeCommand: bare, with params (numbers in decimal), with a body, with an empty body', () => {
    expect(encodeCommand('NOP')).toEqual(Buffer.from('NOP\n'));
    expect(encodeCommand('REQ', [ID, 0])).toEqual(Buffer.from(`REQ ${ID} 0\n`));
    expect(encodeCommand('PUB', ['t'], Buffer.from('hi'))).toEqual(bytes('PUB t\n', hex('00000002'), 'hi'));
    expect(encodeCommand('AUTH', [], Buffer.alloc(0))).toEqual(bytes('AUTH\n', hex('00000000')));
  });

  it('IDENTIFY is a bare line and a JSON body', () => {
    const json = '{"client_id":"c","feature_negotiation":true}';
    expect(encodeIdentify({ client_id: 'c', feature_negotiation: true })).toEqual(
      bytes('IDENTIFY\n', int32(json.length), json),
    );
  });

  it('AUTH carries the secret as its body, from a string or a Buffer', () => {
    expect(encodeAuth('s3cret')).toEqual(bytes('AUTH\n', hex('00000006'), 's3cret'));
    expect(encodeAuth(hex('00ff'))).toEqual(bytes('AUTH\n', hex('00000002 00ff')));
  });

  it('SUB, PUB, DPUB', () => {
    expect(encodeSub('orders', 'billing#ephemeral')).toEqual(Buffer.from('SUB orders billing#ephemeral\n'));
    expect(encodePub('orders', Buffer.from('abc'))).toEqual(bytes('PUB orders\n', hex('00000003'), 'abc'));
    // Written byte by byte: the same as the general encoder for every topic, valid or not.
    for (const topic of ['t', 'a.b_c-d', 'orders#ephemeral', 'x'.repeat(64), '', 'café', '日本']) {
      expect(encodePub(topic, Buffer.from('body')), topic).toEqual(encodeCommand('PUB', [topic], Buffer.from('body')));
    }
    expect(encodeDpub('orders', 1500, Buffer.from('x'))).toEqual(bytes('DPUB orders 1500\n', hex('00000001'), 'x'));
    // nsqd parses the delay as an integer: a fraction is cut, not sent.
    expect(encodeDpub('orders', 1500.9, Buffer.from('x'))).toEqual(bytes('DPUB orders 1500\n', hex('00000001'), 'x'));
  });

  it('MPUB: body size, count, then each message size and bytes, in one buffer', () => {
    expect(encodeMpub('t', [Buffer.from('a'), Buffer.from('bc')])).toEqual(
      bytes('MPUB t\n', hex('0000000f'), hex('00000002'), hex('00000001'), 'a', hex('00000002'), 'bc'),
    );
    const big = Buffer.alloc(300, 1);
    const encoded = encodeMpub('t', [big]);
    expect(encoded.readInt32BE(7)).toBe(4 + 4 + 300);
    expect(encoded.length).toBe(7 + 4 + 4 + 4 + 300);
  });

  it('RDY, FIN, REQ, TOUCH, CLS, NOP', () => {
    expect(encodeRdy(0)).toEqual(Buffer.from('RDY 0\n'));
    expect(encodeRdy(2500)).toEqual(Buffer.from('RDY 2500\n'));
    expect(encodeFin(ID)).toEqual(Buffer.from(`FIN ${ID}\n`));
    expect(encodeFin(ID)).toHaveLength(21);
    expect(encodeReq(ID, 0)).toEqual(Buffer.from(`REQ ${ID} 0\n`));
    expect(encodeReq(ID, 90_000)).toEqual(Buffer.from(`REQ ${ID} 90000\n`));
    expect(encodeTouch(ID)).toEqual(Buffer.from(`TOUCH ${ID}\n`));
    expect(CLS).toEqual(Buffer.from('CLS\n'));
    expect(NOP).toEqual(Buffer.from('NOP\n'));
  });

  it('never sends a number nsqd cannot parse as unsigned: fractions are cut, negatives become 0', () => {
    expect(encodeRdy(10 / 3)).toEqual(Buffer.from('RDY 3\n'));
    expect(encodeRdy(-1)).toEqual(Buffer.from('RDY 0\n'));
    expect(encodeReq(ID, 1500.7)).toEqual(Buffer.from(`REQ ${ID} 1500\n`));
    expect(encodeReq(ID, -5)).toEqual(Buffer.from(`REQ ${ID} 0\n`));
    // Past any broker's max-req-timeout, sent as a number nsqd parses (it clamps), not 1e+21.
    expect(encodeReq(ID, 1e21)).toEqual(Buffer.from(`REQ ${ID} 1000000000000\n`));
  });

  it('echoes a message id byte for byte, even bytes that are not ASCII', () => {
    // nsqd only checks that the id is 16 bytes; the client must send back exactly what it got.
    const rawId = hex('00 7f 80 ff c3 a9 20 41 42 43 44 45 46 47 48 49');
    const payload = encodeMessagePayload(0, 1, rawId.toString('latin1'), Buffer.from('body'));
    const { id } = decodeMessagePayload(payload);
    expect(encodeFin(id)).toEqual(bytes('FIN ', rawId, '\n'));
    expect(encodeTouch(id)).toEqual(bytes('TOUCH ', rawId, '\n'));
    expect(encodeReq(id, 10)).toEqual(bytes('REQ ', rawId, ' 10\n'));
  });
});

interface Seen {
  name: string;
  params: string[];
  bodySize: number;
  body: string | undefined;
}

const view = (command: Command): Seen => ({
  name: command.name,
  params: command.params,
  bodySize: command.bodySize,
  body: command.body?.toString('hex'),
});

const NSQD_LIMITS: CommandParserOptions = {
  bodyLimits: new Map([
    ['IDENTIFY', 5 * 1024 * 1024],
    ['AUTH', 5 * 1024 * 1024],
    ['PUB', 1024 * 1024],
    ['MPUB', 5 * 1024 * 1024],
    ['DPUB', 1024 * 1024],
  ]),
};

/** Parses `chunks` and returns what was seen, and the error thrown, if any. */
function parse(chunks: Buffer[], options: CommandParserOptions = NSQD_LIMITS, stopAfter = Infinity) {
  const seen: Seen[] = [];
  const parser = new CommandParser(options, (command) => {
    seen.push(view(command));
    return seen.length < stopAfter;
  });
  let error: unknown;
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (caught) {
    error = caught;
  }
  return { seen, error, parser };
}

const identifyJson = '{"client_id":"w1","feature_negotiation":true}';
/** A session's worth of commands, in the forms clients really send, plus the odd ones nsqd tolerates. */
const SESSION: { wire: Buffer; seen: Seen }[] = [
  {
    wire: encodeIdentify(JSON.parse(identifyJson) as object),
    seen: { name: 'IDENTIFY', params: ['IDENTIFY'], bodySize: identifyJson.length, body: Buffer.from(identifyJson).toString('hex') },
  },
  { wire: encodeSub('t', 'c'), seen: { name: 'SUB', params: ['SUB', 't', 'c'], bodySize: -1, body: undefined } },
  { wire: encodeRdy(1), seen: { name: 'RDY', params: ['RDY', '1'], bodySize: -1, body: undefined } },
  { wire: encodeFin(ID), seen: { name: 'FIN', params: ['FIN', ID], bodySize: -1, body: undefined } },
  { wire: encodeReq(ID, 5000), seen: { name: 'REQ', params: ['REQ', ID, '5000'], bodySize: -1, body: undefined } },
  { wire: encodeTouch(ID), seen: { name: 'TOUCH', params: ['TOUCH', ID], bodySize: -1, body: undefined } },
  { wire: encodePub('t', Buffer.from('m')), seen: { name: 'PUB', params: ['PUB', 't'], bodySize: 1, body: '6d' } },
  {
    wire: encodeMpub('t', [Buffer.from('a'), Buffer.from('bc')]),
    seen: { name: 'MPUB', params: ['MPUB', 't'], bodySize: 15, body: '00000002000000016100000002626' + '3' },
  },
  { wire: encodeDpub('t', 100, Buffer.from('d')), seen: { name: 'DPUB', params: ['DPUB', 't', '100'], bodySize: 1, body: '64' } },
  { wire: encodeAuth('k'), seen: { name: 'AUTH', params: ['AUTH'], bodySize: 1, body: '6b' } },
  { wire: Buffer.from('NOP\r\n'), seen: { name: 'NOP', params: ['NOP'], bodySize: -1, body: undefined } },
  // A body line ending in \r\n, then its body.
  { wire: bytes('PUB t\r\n', int32(2), 'xy'), seen: { name: 'PUB', params: ['PUB', 't'], bodySize: 2, body: '7879' } },
  // Two spaces make an empty parameter; a trailing space makes a trailing one.
  { wire: Buffer.from(`REQ  ${ID} 0 \n`), seen: { name: 'REQ', params: ['REQ', '', ID, '0', ''], bodySize: -1, body: undefined } },
  // Only one \r is stripped, as nsqd does; one in the middle stays.
  { wire: Buffer.from('NOP\r\r\n'), seen: { name: 'NOP\r', params: ['NOP\r'], bodySize: -1, body: undefined } },
  { wire: Buffer.from('RDY\r1\n'), seen: { name: 'RDY\r1', params: ['RDY\r1'], bodySize: -1, body: undefined } },
  // An empty line is a command named '' (nsqd answers E_INVALID invalid command).
  { wire: Buffer.from('\n'), seen: { name: '', params: [''], bodySize: -1, body: undefined } },
  { wire: Buffer.from('\r\n'), seen: { name: '', params: [''], bodySize: -1, body: undefined } },
  // Names are case-sensitive: a lower-case pub has no body.
  { wire: Buffer.from('pub t\n'), seen: { name: 'pub', params: ['pub', 't'], bodySize: -1, body: undefined } },
  // Bytes are read as latin1, one char per byte.
  { wire: bytes('SUB ', hex('e9'), ' c\n'), seen: { name: 'SUB', params: ['SUB', 'é', 'c'], bodySize: -1, body: undefined } },
  { wire: CLS, seen: { name: 'CLS', params: ['CLS'], bodySize: -1, body: undefined } },
];
const sessionStream = Buffer.concat(SESSION.map((entry) => entry.wire));
const sessionSeen = SESSION.map((entry) => entry.seen);

describe('CommandParser', () => {
  it('parses a stream of many commands the same however it is cut', () => {
    for (const { label, chunks } of chunkings(sessionStream)) {
      const { seen, error, parser } = parse(chunks);
      expect(error, label).toBeUndefined();
      expect(seen, label).toEqual(sessionSeen);
      expect(parser.bufferedBytes, label).toBe(0);
      expect(parser.stopped, label).toBe(false);
    }
  });

  it('slices a body that lies in one chunk, without copying', () => {
    const chunk = unpooled(bytes(encodePub('t', Buffer.from('hello')), encodeIdentify({ a: 1 })));
    const bodies: Buffer[] = [];
    new CommandParser(NSQD_LIMITS, (command) => {
      if (command.body !== undefined) bodies.push(command.body);
    }).push(chunk);
    expect(bodies.map(String)).toEqual(['hello', '{"a":1}']);
    for (const body of bodies) expect(body.buffer).toBe(chunk.buffer);
    expect(bodies[0]!.byteOffset).toBe(chunk.byteOffset + 'PUB t\n'.length + 4);
  });

  it('gathers a body that spans chunks into one buffer of its own', () => {
    const body = Buffer.alloc(5000, 0x42);
    const stream = encodePub('t', body);
    const chunks = [stream.subarray(0, 8), stream.subarray(8, 2000), stream.subarray(2000)].map(unpooled);
    const bodies: Buffer[] = [];
    const parser = new CommandParser(NSQD_LIMITS, (command) => {
      bodies.push(command.body!);
    });
    parser.push(chunks[0]!);
    // 'PUB t\n' then two of the four size bytes.
    expect(parser.bufferedBytes).toBe(2);
    parser.push(chunks[1]!);
    expect(parser.bufferedBytes).toBe(2000 - 6 - 4);
    parser.push(chunks[2]!);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toEqual(body);
    for (const chunk of chunks) expect(bodies[0]!.buffer).not.toBe(chunk.buffer);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('keeps no reference to a chunk the caller reuses after push returns', () => {
    const scratch = Buffer.alloc(5);
    const seen: Seen[] = [];
    const parser = new CommandParser(NSQD_LIMITS, (command) => {
      seen.push(view(command));
    });
    for (let offset = 0; offset < sessionStream.length; offset += scratch.length) {
      const length = sessionStream.copy(scratch, 0, offset, offset + scratch.length);
      parser.push(scratch.subarray(0, length));
      scratch.fill(0x0a);
    }
    expect(seen).toEqual(sessionSeen);
  });

  describe('body size out of bounds: reported, no body, parsing stops', () => {
    const after = encodeSub('t', 'c');
    for (const [label, size] of [
      ['zero', 0],
      ['negative', -1],
      ['very negative', -0x80000000],
      ['over the limit', 1024 * 1024 + 1],
    ] as const) {
      it(`${label} (${size})`, () => {
        const stream = bytes(NOP, 'PUB t\n', int32(size), Buffer.alloc(8), after);
        for (const { label: cut, chunks } of chunkings(stream)) {
          const { seen, error, parser } = parse(chunks);
          expect(error, cut).toBeUndefined();
          expect(seen, cut).toEqual([
            { name: 'NOP', params: ['NOP'], bodySize: -1, body: undefined },
            { name: 'PUB', params: ['PUB', 't'], bodySize: size, body: undefined },
          ]);
          expect(parser.stopped, cut).toBe(true);
        }
      });
    }

    it('exactly the limit is accepted; each command has its own limit', () => {
      const options: CommandParserOptions = { bodyLimits: new Map([['PUB', 3], ['AUTH', 1]]) };
      expect(parse([bytes('PUB t\n', int32(3), 'abc')], options).seen).toEqual([
        { name: 'PUB', params: ['PUB', 't'], bodySize: 3, body: '616263' },
      ]);
      const { seen, parser } = parse([bytes('AUTH\n', int32(2), 'ab', NOP)], options);
      expect(seen).toEqual([{ name: 'AUTH', params: ['AUTH'], bodySize: 2, body: undefined }]);
      expect(parser.stopped).toBe(true);
    });
  });

  it('gives a body only to the commands listed in bodyLimits', () => {
    const options: CommandParserOptions = { bodyLimits: new Map([['IDENTIFY', 100]]) };
    // nsqlookupd: REGISTER has no body even though the bytes after it look like one.
    const { seen } = parse([bytes('IDENTIFY\n', int32(2), '{}', 'REGISTER t c\nPING\n')], options);
    expect(seen.map((command) => [command.name, command.bodySize])).toEqual([
      ['IDENTIFY', 2],
      ['REGISTER', -1],
      ['PING', -1],
    ]);
  });

  describe('line length', () => {
    it("defaults to nsqd's: 16383 bytes before the \\n (the \\n must fit its 16 KiB buffer)", () => {
      expect(DEFAULT_MAX_LINE_LENGTH).toBe(16383);
      const longest = `SUB ${'a'.repeat(DEFAULT_MAX_LINE_LENGTH - 6)} c`;
      expect(longest).toHaveLength(DEFAULT_MAX_LINE_LENGTH);
      expect(parse([Buffer.from(`${longest}\n`)]).seen).toHaveLength(1);
      expect(parse([Buffer.from(`${longest}x\n`)]).error).toBeInstanceOf(LineTooLongError);
      // A \r counts: nsqd strips it only after the line was read.
      expect(parse([Buffer.from(`${longest}\r\n`)]).error).toBeInstanceOf(LineTooLongError);
    });

    it('draws the same line within one chunk and across chunks', () => {
      const options: CommandParserOptions = { ...NSQD_LIMITS, maxLineLength: 10 };
      const fits = bytes(NOP, 'RDY 123456\n', NOP);
      const tooLong = bytes(NOP, 'RDY 1234567\n', NOP);
      for (const { label, chunks } of chunkings(fits)) {
        const { seen, error } = parse(chunks, options);
        expect(error, label).toBeUndefined();
        expect(seen.map((command) => command.name), label).toEqual(['NOP', 'RDY', 'NOP']);
      }
      for (const { label, chunks } of chunkings(tooLong)) {
        const { seen, error, parser } = parse(chunks, options);
        expect(error, label).toBeInstanceOf(LineTooLongError);
        expect((error as LineTooLongError).code, label).toBe('E_LINE_TOO_LONG');
        expect((error as LineTooLongError).message, label).toBe('command line longer than 10 bytes');
        expect(seen.map((command) => command.name), label).toEqual(['NOP']);
        expect(parser.stopped, label).toBe(true);
        expect(parser.bufferedBytes, label).toBe(0);
      }
    });

    it('fails as soon as a partial line passes the limit, before its \\n arrives', () => {
      const parser = new CommandParser({ ...NSQD_LIMITS, maxLineLength: 10 }, () => {});
      parser.push(Buffer.from('0123456789'));
      expect(parser.bufferedBytes).toBe(10);
      expect(() => parser.push(Buffer.from('a'))).toThrow(LineTooLongError);
      // Stopped: the rest of the stream cannot be resynchronised, and is ignored.
      expect(parser.stopped).toBe(true);
      parser.push(Buffer.from('\nNOP\n'));
      expect(parser.bufferedBytes).toBe(0);
    });
  });

  it('trimLines trims white space around each line, as nsqlookupd does', () => {
    const stream = Buffer.from('  PING \r\n\tREGISTER t c  \nUNREGISTER  t\n \n');
    for (const { label, chunks } of chunkings(stream)) {
      const { seen } = parse(chunks, { bodyLimits: new Map(), trimLines: true });
      expect(seen.map((command) => command.params), label).toEqual([
        ['PING'],
        ['REGISTER', 't', 'c'],
        ['UNREGISTER', '', 't'],
        [''],
      ]);
    }
    // Without trimLines a leading space makes an empty command name.
    expect(parse([Buffer.from(' PING\n')]).seen[0]!.params).toEqual(['', 'PING']);
  });

  it('stops when onCommand returns false, even in the middle of a chunk', () => {
    const stream = bytes(NOP, encodePub('t', Buffer.from('x')), NOP, NOP);
    for (const stopAfter of [1, 2, 3]) {
      for (const { label, chunks } of chunkings(stream)) {
        const { seen, parser } = parse(chunks, NSQD_LIMITS, stopAfter);
        expect(seen.map((command) => command.name), label).toEqual(['NOP', 'PUB', 'NOP'].slice(0, stopAfter));
        expect(parser.stopped, label).toBe(true);
      }
    }
  });

  it('goes on when onCommand returns true or nothing, and stop() ends it from outside', () => {
    let count = 0;
    const parser = new CommandParser(NSQD_LIMITS, () => {
      count++;
      return count % 2 === 0 ? true : undefined;
    });
    parser.push(bytes(NOP, NOP, NOP));
    expect(count).toBe(3);
    parser.push(Buffer.from('NO'));
    parser.stop();
    expect(parser.stopped).toBe(true);
    parser.push(Buffer.from('P\nNOP\n'));
    expect(count).toBe(3);
  });

  it('stop() called from inside onCommand stops before the next command', () => {
    const names: string[] = [];
    const parser: CommandParser = new CommandParser(NSQD_LIMITS, (command) => {
      names.push(command.name);
      if (command.name === 'CLS') parser.stop();
    });
    parser.push(bytes(NOP, CLS, NOP));
    expect(names).toEqual(['NOP', 'CLS']);
  });

  it("splits every line exactly as nsqd's bytes.Split on single spaces (and String.split(' ')) does", () => {
    const lines = ['', ' ', '  ', 'a', 'a b', 'a  b', ' a', 'a ', '   a   b   ', 'REQ id 0', 'x y z w v u t s r q'];
    const stream = Buffer.from(lines.map((line) => `${line}\n`).join(''));
    const { seen } = parse([stream], { bodyLimits: new Map() });
    expect(seen.map((command) => command.params)).toEqual(lines.map((line) => line.split(' ')));
  });

  it('parses FIN lines (taken apart without splitting the line) exactly as the general path does', () => {
    const id = '0123456789abcdef';
    const lines = [`FIN ${id}`, `FIN ${id.slice(0, 5)} ${id.slice(6)}`, `FIN  ${id.slice(1)}`, `FIN ${id}x`, `FIN ${id.slice(1)}`, `FIX ${id}`, `FIN ${id.slice(0, 15)} `];
    const stream = Buffer.from(lines.map((line) => `${line}\n`).join('') + `FIN ${id.slice(0, 15)}\r\n`);
    const { seen } = parse([stream]);
    const split = (line: string): Seen => ({ name: line.split(' ')[0]!, params: line.split(' '), bodySize: -1, body: undefined });
    expect(seen).toEqual([...lines.map(split), split(`FIN ${id.slice(0, 15)}`)]);
    // Cut anywhere, and trimmed as nsqlookupd trims: the same.
    for (let cut = 1; cut < 24; cut++) expect(parse([stream.subarray(0, cut), stream.subarray(cut)]).seen).toEqual(seen);
    const tabbed = parse([Buffer.from(`FIN ${id.slice(0, 15)}\t\n`)], { ...NSQD_LIMITS, trimLines: true }).seen;
    expect(tabbed).toEqual([split(`FIN ${id.slice(0, 15)}`)]);
  });

  it('reports an id with bytes above 0x7f as 16 characters, as nsqd counts bytes', () => {
    const rawId = hex('ff'.repeat(16));
    const { seen } = parse([bytes('FIN ', rawId, '\n')]);
    expect(seen[0]!.params[1]).toHaveLength(16);
    expect(Buffer.from(seen[0]!.params[1]!, 'latin1')).toEqual(rawId);
  });
});

/** The message bodies an MPUB body's ranges name. */
function parseMpubBody(body: Buffer, limits: MpubLimits): Buffer[] {
  const ranges = parseMpubRanges(body, limits);
  const bodies: Buffer[] = [];
  for (let i = 0; i < ranges.length; i += 2) bodies.push(body.subarray(ranges[i], ranges[i + 1]));
  return bodies;
}

describe('parseMpubRanges', () => {
  const limits = { maxMsgSize: 10, maxBodySize: 100 };
  /** `[int32 count]` then, for each item, `[int32 size][bytes]` (or just the raw bytes when given a Buffer). */
  const mpub = (count: number, ...items: (string | Buffer)[]): Buffer =>
    bytes(int32(count), ...items.flatMap((item) => (typeof item === 'string' ? [int32(item.length), item] : [item])));

  function failure(body: Buffer, mpubLimits = limits): [string, string] {
    try {
      parseMpubBody(body, mpubLimits);
    } catch (error) {
      expect(error).toBeInstanceOf(MpubFormatError);
      const { code, description, message, name } = error as MpubFormatError;
      expect(message).toBe(`${code} ${description}`);
      expect(name).toBe('MpubFormatError');
      return [code, description];
    }
    throw new Error('parseMpubRanges accepted the body');
  }

  it('splits a body into slices of it, in order', () => {
    const body = unpooled(mpub(3, 'a', 'bc', '0123456789'));
    const messages = parseMpubBody(body, limits);
    expect(messages.map(String)).toEqual(['a', 'bc', '0123456789']);
    for (const message of messages) expect(message.buffer).toBe(body.buffer);
    expect(messages[1]!.byteOffset).toBe(body.byteOffset + 4 + 4 + 1 + 4);
  });

  it('reads what encodeMpub writes (after its size word)', () => {
    const wire = encodeMpub('t', [Buffer.from('x'), Buffer.from('yz')]);
    const body = wire.subarray('MPUB t\n'.length + 4);
    expect(body.length).toBe(wire.readInt32BE('MPUB t\n'.length));
    expect(parseMpubBody(body, limits).map(String)).toEqual(['x', 'yz']);
  });

  it("gives nsqd's E_BAD_BODY for the message count", () => {
    expect(failure(Buffer.alloc(0))).toEqual(['E_BAD_BODY', 'MPUB failed to read message count']);
    expect(failure(hex('000000'))).toEqual(['E_BAD_BODY', 'MPUB failed to read message count']);
    expect(failure(mpub(0))).toEqual(['E_BAD_BODY', 'MPUB invalid message count 0']);
    expect(failure(mpub(-1, 'a'))).toEqual(['E_BAD_BODY', 'MPUB invalid message count -1']);
  });

  it('caps the count at (maxBodySize - 4) / 5, rounded down, as nsqd does', () => {
    // (100 - 4) / 5 = 19.2: 19 one-byte messages are fine, 20 are not, whatever the body holds.
    const nineteen = Array.from({ length: 19 }, () => 'm');
    expect(parseMpubBody(mpub(19, ...nineteen), limits)).toHaveLength(19);
    expect(failure(mpub(20, ...nineteen, 'm'))).toEqual(['E_BAD_BODY', 'MPUB invalid message count 20']);
    expect(failure(mpub(0x7fffffff, 'm'))).toEqual(['E_BAD_BODY', 'MPUB invalid message count 2147483647']);
    // nsqd's defaults: 5 MiB bodies allow 1048575 messages.
    const nsqd = { maxMsgSize: 1024 * 1024, maxBodySize: 5 * 1024 * 1024 };
    expect(failure(mpub(1048576, 'm'), nsqd)).toEqual(['E_BAD_BODY', 'MPUB invalid message count 1048576']);
    // 1048575 passes the count check and fails later, on the missing second message.
    expect(failure(mpub(1048575, 'm'), nsqd)).toEqual(['E_BAD_MESSAGE', 'MPUB failed to read message(1) body size']);
  });

  it("gives nsqd's E_BAD_MESSAGE for each message, naming its index", () => {
    expect(failure(mpub(2, 'a', hex('0000')))).toEqual(['E_BAD_MESSAGE', 'MPUB failed to read message(1) body size']);
    expect(failure(mpub(2, 'a'))).toEqual(['E_BAD_MESSAGE', 'MPUB failed to read message(1) body size']);
    expect(failure(mpub(1, int32(0)))).toEqual(['E_BAD_MESSAGE', 'MPUB invalid message(0) body size 0']);
    expect(failure(mpub(2, 'a', int32(-3)))).toEqual(['E_BAD_MESSAGE', 'MPUB invalid message(1) body size -3']);
    expect(failure(mpub(1, int32(11), Buffer.alloc(11)))).toEqual(['E_BAD_MESSAGE', 'MPUB message too big 11 > 10']);
    expect(failure(mpub(1, int32(5), Buffer.from('abcd')))).toEqual(['E_BAD_MESSAGE', 'MPUB failed to read message body']);
  });

  it('checks each message in order: an early bad message wins over a later one', () => {
    expect(failure(mpub(3, 'a', int32(11), int32(0)))).toEqual(['E_BAD_MESSAGE', 'MPUB message too big 11 > 10']);
    expect(failure(mpub(3, int32(0), int32(11)))).toEqual(['E_BAD_MESSAGE', 'MPUB invalid message(0) body size 0']);
  });

  it('accepts a message of exactly maxMsgSize', () => {
    expect(parseMpubBody(mpub(1, '0123456789'), limits).map(String)).toEqual(['0123456789']);
  });

  it('ignores bytes after the last message: the body size word, not the count, says where the command ends', () => {
    // nsqd reads the messages straight from the stream and never compares their sum with the body size.
    expect(parseMpubBody(mpub(1, 'a', 'trailing'), limits).map(String)).toEqual(['a']);
  });
});
