/**
 * Every error path of protocol V2 on the bundled nsqd, byte for byte against nsqd v1.3.0: the error
 * frame's text, whether the connection is closed (fatal) or stays usable (E_FIN_FAILED, E_REQ_FAILED,
 * E_TOUCH_FAILED), and that after a fatal error the broker still serves others and keeps every
 * message it had accepted.
 */
import { describe, expect, it } from 'vitest';
import { CLS, MAGIC_V2, encodeCommand, encodeIdentify, encodeMpub, encodePub, encodeRdy, encodeSub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import { bodyOf, brokerPerTest, framesBeforeOk, messagesBeforeBarrier, uniqueName, type BrokerFixture } from './helpers/broker-tcp-fixture.ts';
import type { RawClient } from './helpers/raw-client.ts';

const int32 = (value: number): Buffer => {
  const word = Buffer.alloc(4);
  word.writeInt32BE(value);
  return word;
};
const bytes = (...parts: (string | Buffer | number[])[]): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));
/** A command line followed by `[int32 size][body]`. */
const withBody = (line: string | Buffer, body: Buffer | string): Buffer => {
  const data = Buffer.from(body);
  return bytes(line, int32(data.length), data);
};
/** A command line followed by only a size word (an out-of-range size is refused before any body). */
const withSize = (line: string, size: number): Buffer => bytes(line, int32(size));
/** An MPUB body: `[int32 count]` then, per part, a number as a raw size word or a string as `[size][bytes]`. */
const mpubBody = (count: number, ...parts: (string | number)[]): Buffer =>
  bytes(int32(count), ...parts.map((part) => (typeof part === 'number' ? int32(part) : bytes(int32(part.length), part))));

const ID = '0123456789abcdef';

type State = 'init' | 'subscribed' | 'closing';

interface FatalCase {
  name: string;
  state: State;
  send: (topic: string) => Buffer | string;
  error: (topic: string) => string | Buffer;
}

const fatalCases: FatalCase[] = [
  // Commands and states (§1.7).
  { name: 'an unknown command', state: 'init', send: () => 'FOO bar\n', error: () => 'E_INVALID invalid command FOO' },
  { name: 'a lower-case command', state: 'init', send: (t) => `sub ${t} ch\n`, error: () => 'E_INVALID invalid command sub' },
  { name: 'an empty line', state: 'init', send: () => '\n', error: () => 'E_INVALID invalid command ' },
  { name: 'a command of raw bytes', state: 'init', send: () => bytes([0xff], 'OO\n'), error: () => bytes('E_INVALID invalid command ', [0xff], 'OO') },
  { name: 'RDY before SUB', state: 'init', send: () => 'RDY 1\n', error: () => 'E_INVALID cannot RDY in current state' },
  { name: 'FIN before SUB', state: 'init', send: () => `FIN ${ID}\n`, error: () => 'E_INVALID cannot FIN in current state' },
  { name: 'REQ before SUB', state: 'init', send: () => `REQ ${ID} 0\n`, error: () => 'E_INVALID cannot REQ in current state' },
  { name: 'TOUCH before SUB', state: 'init', send: () => `TOUCH ${ID}\n`, error: () => 'E_INVALID cannot TOUCH in current state' },
  { name: 'CLS before SUB', state: 'init', send: () => 'CLS\n', error: () => 'E_INVALID cannot CLS in current state' },
  { name: 'a second SUB', state: 'subscribed', send: (t) => `SUB ${t} other\n`, error: () => 'E_INVALID cannot SUB in current state' },
  { name: 'SUB after CLS', state: 'closing', send: (t) => `SUB ${t} other\n`, error: () => 'E_INVALID cannot SUB in current state' },
  { name: 'a second CLS', state: 'closing', send: () => 'CLS\n', error: () => 'E_INVALID cannot CLS in current state' },
  { name: 'IDENTIFY after SUB', state: 'subscribed', send: () => encodeIdentify({}), error: () => 'E_INVALID cannot IDENTIFY in current state' },
  { name: 'AUTH after SUB', state: 'subscribed', send: () => withBody('AUTH\n', 'secret'), error: () => 'E_INVALID cannot AUTH in current state' },
  // Parameters.
  { name: 'SUB without a channel', state: 'init', send: (t) => `SUB ${t}\n`, error: () => 'E_INVALID SUB insufficient number of parameters' },
  { name: 'PUB without a topic', state: 'init', send: () => withBody('PUB\n', 'x'), error: () => 'E_INVALID PUB insufficient number of parameters' },
  { name: 'MPUB without a topic', state: 'init', send: () => withBody('MPUB\n', mpubBody(1, 'x')), error: () => 'E_INVALID MPUB insufficient number of parameters' },
  { name: 'DPUB without a delay', state: 'init', send: (t) => withBody(`DPUB ${t}\n`, 'x'), error: () => 'E_INVALID DPUB insufficient number of parameters' },
  { name: 'FIN without an id', state: 'subscribed', send: () => 'FIN\n', error: () => 'E_INVALID FIN insufficient number of params' },
  { name: 'REQ without a delay', state: 'subscribed', send: () => `REQ ${ID}\n`, error: () => 'E_INVALID REQ insufficient number of params' },
  { name: 'TOUCH without an id', state: 'subscribed', send: () => 'TOUCH\n', error: () => 'E_INVALID TOUCH insufficient number of params' },
  { name: 'FIN of a short id', state: 'subscribed', send: () => 'FIN 0123\n', error: () => 'E_INVALID invalid message ID' },
  { name: 'REQ of a long id', state: 'subscribed', send: () => `REQ ${ID}0 0\n`, error: () => 'E_INVALID invalid message ID' },
  { name: 'TOUCH of an empty id', state: 'subscribed', send: () => 'TOUCH \n', error: () => 'E_INVALID invalid message ID' },
  { name: 'FIN of a short id while closing', state: 'closing', send: () => 'FIN 01\n', error: () => 'E_INVALID invalid message ID' },
  { name: 'RDY of a word', state: 'subscribed', send: () => 'RDY abc\n', error: () => 'E_INVALID RDY could not parse count abc' },
  { name: 'RDY -1', state: 'subscribed', send: () => 'RDY -1\n', error: () => 'E_INVALID RDY could not parse count -1' },
  { name: 'RDY 1.5', state: 'subscribed', send: () => 'RDY 1.5\n', error: () => 'E_INVALID RDY could not parse count 1.5' },
  { name: 'RDY above max-rdy-count', state: 'subscribed', send: () => 'RDY 2501\n', error: () => 'E_INVALID RDY count 2501 out of range 0-2500' },
  // nsqd parses into a uint64 that wraps past 2^64, then reads it as an int64.
  {
    name: 'RDY 2^64-1 (an int64 -1)',
    state: 'subscribed',
    send: () => 'RDY 18446744073709551615\n',
    error: () => 'E_INVALID RDY count -1 out of range 0-2500',
  },
  {
    name: 'RDY past 2^64 (wrapped)',
    state: 'subscribed',
    send: () => 'RDY 99999999999999999999\n',
    error: () => 'E_INVALID RDY count 7766279631452241919 out of range 0-2500',
  },
  { name: 'REQ of a word delay', state: 'subscribed', send: () => `REQ ${ID} soon\n`, error: () => 'E_INVALID REQ could not parse timeout soon' },
  { name: 'REQ of a negative delay', state: 'subscribed', send: () => `REQ ${ID} -5\n`, error: () => 'E_INVALID REQ could not parse timeout -5' },
  { name: 'DPUB of a word delay', state: 'init', send: (t) => withBody(`DPUB ${t} later\n`, 'x'), error: () => 'E_INVALID DPUB could not parse timeout later' },
  { name: 'DPUB of a negative delay', state: 'init', send: (t) => withBody(`DPUB ${t} -1\n`, 'x'), error: () => 'E_INVALID DPUB could not parse timeout -1' },
  {
    name: 'DPUB beyond max-req-timeout',
    state: 'init',
    send: (t) => withBody(`DPUB ${t} 3600001\n`, 'x'),
    error: () => 'E_INVALID DPUB timeout 3600001 out of range 0-3600000',
  },
  {
    name: 'DPUB of a delay past 2^64 (wrapped)',
    state: 'init',
    send: (t) => withBody(`DPUB ${t} 99999999999999999999\n`, 'x'),
    error: () => 'E_INVALID DPUB timeout 7766279631452241919 out of range 0-3600000',
  },
  {
    name: 'DPUB of a delay whose nanoseconds overflow',
    state: 'init',
    send: (t) => withBody(`DPUB ${t} 9223372036854775807\n`, 'x'),
    error: () => 'E_INVALID DPUB timeout 9223372036854775807 out of range 0-3600000',
  },
  // Names, quoted as Go's %q does.
  { name: 'PUB to a bad topic', state: 'init', send: () => withBody('PUB bad!topic\n', 'x'), error: () => 'E_BAD_TOPIC PUB topic name "bad!topic" is not valid' },
  { name: 'PUB to an empty topic', state: 'init', send: () => withBody('PUB \n', 'x'), error: () => 'E_BAD_TOPIC PUB topic name "" is not valid' },
  {
    name: 'PUB to a 65-byte topic',
    state: 'init',
    send: () => withBody(`PUB ${'a'.repeat(65)}\n`, 'x'),
    error: () => `E_BAD_TOPIC PUB topic name "${'a'.repeat(65)}" is not valid`,
  },
  {
    name: 'PUB to a topic with quotes, tabs and control bytes',
    state: 'init',
    send: () => withBody('PUB a"b\\c\td\x01e\x7f\n', 'x'),
    error: () => 'E_BAD_TOPIC PUB topic name "a\\"b\\\\c\\td\\x01e\\x7f" is not valid',
  },
  {
    name: 'PUB to a UTF-8 topic (printable runes stay as they are)',
    state: 'init',
    send: () => withBody(bytes('PUB caf', Buffer.from('é'), '\n'), 'x'),
    error: () => Buffer.from('E_BAD_TOPIC PUB topic name "café" is not valid'),
  },
  {
    name: 'PUB to a topic with bytes that are not UTF-8',
    state: 'init',
    send: () => withBody(bytes('PUB a', [0xff, 0xc3], 'b\n'), 'x'),
    error: () => 'E_BAD_TOPIC PUB topic name "a\\xff\\xc3b" is not valid',
  },
  {
    name: 'PUB to a topic with a non-printable rune',
    state: 'init',
    send: () => withBody(bytes('PUB a', Buffer.from('\u00a0\u200b'), '\n'), 'x'),
    error: () => 'E_BAD_TOPIC PUB topic name "a\\u00a0\\u200b" is not valid',
  },
  {
    name: 'PUB to a 65-byte ephemeral topic (the suffix counts)',
    state: 'init',
    send: () => withBody(`PUB ${'e'.repeat(55)}#ephemeral\n`, 'x'),
    error: () => `E_BAD_TOPIC PUB topic name "${'e'.repeat(55)}#ephemeral" is not valid`,
  },
  {
    name: 'PUB to a bad ephemeral suffix',
    state: 'init',
    send: () => withBody('PUB t#eph\n', 'x'),
    error: () => 'E_BAD_TOPIC PUB topic name "t#eph" is not valid',
  },
  { name: 'SUB to a bad topic', state: 'init', send: () => 'SUB a*b ch\n', error: () => 'E_BAD_TOPIC SUB topic name "a*b" is not valid' },
  { name: 'SUB to a bad channel', state: 'init', send: (t) => `SUB ${t} c/h\n`, error: () => 'E_BAD_CHANNEL SUB channel name "c/h" is not valid' },
  { name: 'DPUB to a bad topic', state: 'init', send: () => withBody('DPUB a:b 10\n', 'x'), error: () => 'E_BAD_TOPIC DPUB topic name "a:b" is not valid' },
  {
    name: 'MPUB to a bad topic (the code twice)',
    state: 'init',
    send: () => withBody('MPUB a$b\n', mpubBody(1, 'x')),
    error: () => 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a$b" is not valid',
  },
  // Bodies.
  { name: 'PUB of size 0', state: 'init', send: (t) => withSize(`PUB ${t}\n`, 0), error: () => 'E_BAD_MESSAGE PUB invalid message body size 0' },
  { name: 'PUB of size -1', state: 'init', send: (t) => withSize(`PUB ${t}\n`, -1), error: () => 'E_BAD_MESSAGE PUB invalid message body size -1' },
  {
    name: 'PUB beyond max-msg-size',
    state: 'init',
    send: (t) => withSize(`PUB ${t}\n`, 1048577),
    error: () => 'E_BAD_MESSAGE PUB message too big 1048577 > 1048576',
  },
  { name: 'DPUB of size 0', state: 'init', send: (t) => withSize(`DPUB ${t} 10\n`, 0), error: () => 'E_BAD_MESSAGE DPUB invalid message body size 0' },
  {
    name: 'DPUB beyond max-msg-size',
    state: 'init',
    send: (t) => withSize(`DPUB ${t} 10\n`, 2_000_000),
    error: () => 'E_BAD_MESSAGE DPUB message too big 2000000 > 1048576',
  },
  { name: 'MPUB of size 0', state: 'init', send: (t) => withSize(`MPUB ${t}\n`, 0), error: () => 'E_BAD_BODY MPUB invalid body size 0' },
  {
    name: 'MPUB beyond max-body-size',
    state: 'init',
    send: (t) => withSize(`MPUB ${t}\n`, 5242881),
    error: () => 'E_BAD_BODY MPUB body too big 5242881 > 5242880',
  },
  { name: 'MPUB too short for its count', state: 'init', send: (t) => withBody(`MPUB ${t}\n`, bytes([0, 0])), error: () => 'E_BAD_BODY MPUB failed to read message count' },
  { name: 'MPUB of 0 messages', state: 'init', send: (t) => withBody(`MPUB ${t}\n`, mpubBody(0)), error: () => 'E_BAD_BODY MPUB invalid message count 0' },
  { name: 'MPUB of -3 messages', state: 'init', send: (t) => withBody(`MPUB ${t}\n`, mpubBody(-3)), error: () => 'E_BAD_BODY MPUB invalid message count -3' },
  {
    name: 'MPUB of more messages than max-body-size can hold',
    state: 'init',
    send: (t) => withBody(`MPUB ${t}\n`, mpubBody(1048576, 'x')),
    error: () => 'E_BAD_BODY MPUB invalid message count 1048576',
  },
  {
    name: 'MPUB with an empty second message',
    state: 'init',
    send: (t) => withBody(`MPUB ${t}\n`, mpubBody(3, 'a', 0, 'c')),
    error: () => 'E_BAD_MESSAGE MPUB invalid message(1) body size 0',
  },
  {
    name: 'MPUB with a message beyond max-msg-size',
    state: 'init',
    send: (t) => withBody(`MPUB ${t}\n`, mpubBody(2, 'a', 1048577)),
    error: () => 'E_BAD_MESSAGE MPUB message too big 1048577 > 1048576',
  },
  {
    name: 'MPUB whose count is more than its messages',
    state: 'init',
    send: (t) => withBody(`MPUB ${t}\n`, mpubBody(3, 'a', 'b')),
    error: () => 'E_BAD_MESSAGE MPUB failed to read message(2) body size',
  },
  {
    name: 'MPUB with a truncated message',
    state: 'init',
    send: (t) => withBody(`MPUB ${t}\n`, bytes(mpubBody(2, 'a'), int32(10), 'short')),
    error: () => 'E_BAD_MESSAGE MPUB failed to read message body',
  },
  { name: 'IDENTIFY of size 0', state: 'init', send: () => withSize('IDENTIFY\n', 0), error: () => 'E_BAD_BODY IDENTIFY invalid body size 0' },
  {
    name: 'IDENTIFY beyond max-body-size',
    state: 'init',
    send: () => withSize('IDENTIFY\n', 5242881),
    error: () => 'E_BAD_BODY IDENTIFY body too big 5242881 > 5242880',
  },
  { name: 'AUTH of size 0', state: 'init', send: () => withSize('AUTH\n', 0), error: () => 'E_BAD_BODY AUTH invalid body size 0' },
  { name: 'AUTH with a parameter', state: 'init', send: () => withBody('AUTH x\n', 'secret'), error: () => 'E_INVALID AUTH invalid number of parameters' },
  { name: 'AUTH when auth is disabled', state: 'init', send: () => withBody('AUTH\n', 'secret'), error: () => 'E_AUTH_DISABLED AUTH disabled' },
];

/**
 * Opens a connection in `state`, after it has had one message accepted ("kept") on `topic` (for a
 * subscribed connection, into channel `ch`, where its RDY 0 leaves it waiting).
 */
async function connectIn(f: BrokerFixture, state: State, topic: string): Promise<RawClient> {
  const client = await f.connect();
  if (state !== 'init') {
    client.send(encodeSub(topic, 'ch'));
    await client.expectResponse('OK');
  }
  client.send(encodePub(topic, Buffer.from('kept')));
  await client.expectResponse('OK');
  if (state === 'closing') {
    client.send(CLS);
    await client.expectResponse('CLOSE_WAIT');
  }
  return client;
}

async function expectErrorFrame(client: RawClient, expected: string | Buffer): Promise<void> {
  const frame = await client.nextFrame();
  const want = typeof expected === 'string' ? Buffer.from(expected) : expected;
  expect({ type: frame.type, data: frame.data.toString('latin1') }).toEqual({ type: FrameType.Error, data: want.toString('latin1') });
}

/** A fresh client can still publish and consume, and the message accepted before the error is there. */
async function expectBrokerServesAndKept(f: BrokerFixture, topic: string): Promise<void> {
  const sub = await f.subscriber(topic, 'ch', 10);
  expect(bodyOf(await sub.nextMessage())).toBe('kept');
  await f.publish(topic, 'after');
  expect(bodyOf(await sub.nextMessage())).toBe('after');
}

describe('bundled nsqd TCP: fatal errors', () => {
  const fixture = brokerPerTest();

  it('answers a bad magic with E_BAD_PROTOCOL and closes', async () => {
    const f = fixture();
    const client = await f.connect({ magic: false });
    client.send('  V1');
    await expectErrorFrame(client, 'E_BAD_PROTOCOL');
    await client.waitClosed();
    const http = await f.connect({ magic: false });
    http.send('GET /stats HTTP/1.1\r\n\r\n');
    await expectErrorFrame(http, 'E_BAD_PROTOCOL');
    await http.waitClosed();
    const topic = uniqueName('magic');
    await f.publish(topic, 'kept');
    await expectBrokerServesAndKept(f, topic);
  });

  it('reads the magic even when it arrives one byte at a time, or together with the first command', async () => {
    const f = fixture();
    const topic = uniqueName('magicsplit');
    const slow = await f.connect({ magic: false });
    for (const byte of MAGIC_V2) slow.send(Buffer.from([byte]));
    slow.send(encodePub(topic, Buffer.from('kept')));
    await slow.expectResponse('OK');
    const eager = await f.connect({ magic: false });
    eager.send(bytes(MAGIC_V2, encodePub(topic, Buffer.from('second'))));
    await eager.expectResponse('OK');
    const sub = await f.subscriber(topic, 'ch', 2);
    expect((await Promise.all([sub.nextMessage(), sub.nextMessage()])).map(bodyOf)).toEqual(['kept', 'second']);
  });

  for (const testCase of fatalCases) {
    it(`${testCase.state}: ${testCase.name} → ${String(testCase.error('T')).slice(0, 60)}`, async () => {
      const f = fixture();
      const topic = uniqueName('fatal');
      const client = await connectIn(f, testCase.state, topic);
      client.send(testCase.send(topic));
      await expectErrorFrame(client, testCase.error(topic));
      await client.waitClosed();
      expect(client.pending).toBe(0);
      await expectBrokerServesAndKept(f, topic);
    });
  }

  it('closes without an error frame on a line longer than 16383 bytes, and accepts one of exactly 16383', async () => {
    const f = fixture();
    const topic = uniqueName('longline');
    const client = await f.connect();
    client.send(encodePub(topic, Buffer.from('kept')));
    await client.expectResponse('OK');
    // NOP ignores its parameters: the longest line nsqd's 16 KiB reader takes is 16383 bytes and the \n.
    client.send(`NOP ${'x'.repeat(16383 - 4)}\n`);
    expect(await framesBeforeOk(client, uniqueName('scratch'))).toBe(0);
    client.send(`NOP ${'x'.repeat(16384 - 4)}\n`);
    await client.waitClosed();
    expect(client.pending).toBe(0);
    await expectBrokerServesAndKept(f, topic);
  });

  it('closes on an endless line without waiting for its end', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send('A'.repeat(20_000));
    await client.waitClosed();
    expect(client.pending).toBe(0);
  });

  it('refuses SUB with heartbeats disabled', async () => {
    const f = fixture();
    const topic = uniqueName('nohb');
    const client = await f.connect();
    client.send(encodeIdentify({ heartbeat_interval: -1 }));
    await client.expectResponse('OK');
    client.send(encodePub(topic, Buffer.from('kept')));
    await client.expectResponse('OK');
    client.send(encodeSub(topic, 'ch'));
    await expectErrorFrame(client, 'E_INVALID cannot SUB with heartbeats disabled');
    await client.waitClosed();
    await expectBrokerServesAndKept(f, topic);
  });

  it('accepts RDY 2500, DPUB of exactly max-req-timeout, and RDY with no count (1)', async () => {
    const f = fixture();
    const topic = uniqueName('bounds');
    const client = await f.connect();
    client.send(withBody(`DPUB ${topic} 3600000\n`, 'far'));
    await client.expectResponse('OK');
    const sub = await f.subscriber(topic, 'ch', 0);
    sub.send('RDY 2500\n');
    expect(await messagesBeforeBarrier(sub)).toEqual([]);
    sub.send('RDY\n');
    expect(await messagesBeforeBarrier(sub)).toEqual([]);
    expect((await f.channelStats(topic, 'ch'))?.clients?.[0]?.ready_count).toBe(1);
  });

  it('queues nothing from an MPUB with one bad message', async () => {
    const f = fixture();
    const topic = uniqueName('mpubatomic');
    const sub = await f.subscriber(topic, 'ch', 10);
    const client = await f.connect();
    client.send(withBody(`MPUB ${topic}\n`, mpubBody(3, 'one', 'two', 0)));
    await expectErrorFrame(client, 'E_BAD_MESSAGE MPUB invalid message(2) body size 0');
    await client.waitClosed();
    expect(await messagesBeforeBarrier(sub)).toEqual([]);
    expect(await f.topicStats(topic)).toMatchObject({ message_count: 0 });
  });

  it('hands the in-flight messages of a client closed by a fatal error to another consumer', async () => {
    const f = fixture();
    const topic = uniqueName('fatalinflight');
    const doomed = await f.subscriber(topic, 'ch', 2);
    await f.publish(topic, 'm0', 'm1');
    const held = [await doomed.nextMessage(), await doomed.nextMessage()];
    const heir = await f.subscriber(topic, 'ch', 5);
    doomed.send('RDY x\n');
    await expectErrorFrame(doomed, 'E_INVALID RDY could not parse count x');
    await doomed.waitClosed();
    const redelivered = [await heir.nextMessage(), await heir.nextMessage()];
    expect(redelivered.map((m) => m.id).sort()).toEqual(held.map((m) => m.id).sort());
    expect(redelivered.map((m) => m.attempts)).toEqual([2, 2]);
  });

  it('creates the topic of a refused MPUB, as nsqd does before it reads the body', async () => {
    const f = fixture();
    const topic = uniqueName('mpubcreates');
    const client = await f.connect();
    client.send(withBody(`MPUB ${topic}\n`, mpubBody(0)));
    await expectErrorFrame(client, 'E_BAD_BODY MPUB invalid message count 0');
    await client.waitClosed();
    expect(await f.topicStats(topic)).toMatchObject({ message_count: 0, depth: 0 });
  });

  it('accepts names of exactly 64 bytes, the #ephemeral suffix included', async () => {
    const f = fixture();
    const long = 'a'.repeat(64);
    const ephemeral = `${'e'.repeat(54)}#ephemeral`;
    await f.publish(long, 'x');
    await f.publish(ephemeral, 'y');
    const sub = await f.subscriber(long, 'c'.repeat(64), 1);
    expect(bodyOf(await sub.nextMessage())).toBe('x');
    expect((await f.topicStats(ephemeral))?.depth).toBe(1);
  });

  it("answers a body command's bad line at once, before any body, as nsqd checks the line first", async () => {
    const f = fixture();
    // Each line alone, no size, no body: nsqd answers and closes; a wait for the body would hang.
    const cases: Array<[string, string]> = [
      ['PUB bad!\n', 'E_BAD_TOPIC PUB topic name "bad!" is not valid'],
      ['PUB\n', 'E_INVALID PUB insufficient number of parameters'],
      ['MPUB\n', 'E_INVALID MPUB insufficient number of parameters'],
      ['DPUB t1 x\n', 'E_INVALID DPUB could not parse timeout x'],
      ['AUTH extra\n', 'E_INVALID AUTH invalid number of parameters'],
    ];
    for (const [line, error] of cases) {
      const client = await f.connect();
      client.send(line);
      await expectErrorFrame(client, error);
      await client.waitClosed();
    }
    // IDENTIFY after SUB: the state is checked before the body too.
    const subscribed = await f.subscriber(uniqueName('ident'), 'c', 0);
    subscribed.send('IDENTIFY\n');
    await expectErrorFrame(subscribed, 'E_INVALID cannot IDENTIFY in current state');
    await subscribed.waitClosed();
  });

  it('answers the commands pipelined before a fatal one, and nothing after it', async () => {
    const f = fixture();
    const topic = uniqueName('pipeline');
    const client = await f.connect();
    client.send(bytes(encodePub(topic, Buffer.from('kept')), 'BAD\n', encodePub(topic, Buffer.from('never'))));
    await client.expectResponse('OK');
    await expectErrorFrame(client, 'E_INVALID invalid command BAD');
    await client.waitClosed();
    expect(client.pending).toBe(0);
    expect(await f.topicStats(topic)).toMatchObject({ message_count: 1 });
    await expectBrokerServesAndKept(f, topic);
  });
});

describe('bundled nsqd TCP: max-channel-consumers', () => {
  const fixture = brokerPerTest({ maxChannelConsumers: 1 });

  it('refuses a SUB beyond the limit with E_SUB_FAILED', async () => {
    const f = fixture();
    const topic = uniqueName('limit');
    await f.subscriber(topic, 'ch', 1);
    const client = await f.connect();
    client.send(encodeSub(topic, 'ch'));
    await expectErrorFrame(client, `E_SUB_FAILED SUB failed consumers for ${topic}:ch exceeds limit of 1`);
    await client.waitClosed();
    await f.subscriber(topic, 'other', 1);
  });
});

describe('bundled nsqd TCP: non-fatal errors', () => {
  const fixture = brokerPerTest({ nodeId: 1023 });

  it('answers FIN, REQ and TOUCH of an unknown id with their _FAILED errors and keeps the connection', async () => {
    const f = fixture();
    const topic = uniqueName('unknown');
    const sub = await f.subscriber(topic, 'ch', 1);
    sub.send(`FIN ${ID}\n`);
    await expectErrorFrame(sub, `E_FIN_FAILED FIN ${ID} failed ID not in flight`);
    sub.send(`REQ ${ID} 0\n`);
    await expectErrorFrame(sub, `E_REQ_FAILED REQ ${ID} failed ID not in flight`);
    sub.send(`TOUCH ${ID}\n`);
    await expectErrorFrame(sub, `E_TOUCH_FAILED TOUCH ${ID} failed ID not in flight`);
    // Only the length of an id is checked, not that it is hex.
    sub.send('FIN zzzzzzzzzzzzzzzz\n');
    await expectErrorFrame(sub, 'E_FIN_FAILED FIN zzzzzzzzzzzzzzzz failed ID not in flight');
    await f.publish(topic, 'still here');
    const message = await sub.nextMessage();
    expect(bodyOf(message)).toBe('still here');
    sub.send(`FIN ${message.id}\n`);
    expect(await messagesBeforeBarrier(sub)).toEqual([]);
    expect((await f.channelStats(topic, 'ch'))?.clients?.[0]).toMatchObject({ finish_count: 1, requeue_count: 0 });
  });

  it('echoes an id of raw bytes exactly as it was sent', async () => {
    const f = fixture();
    const sub = await f.subscriber(uniqueName('rawid'), 'ch', 1);
    const id = bytes([0xff, 0x00, 0x80, 0xc3], 'abcdefghijkl');
    sub.send(bytes('FIN ', id, '\n'));
    await expectErrorFrame(sub, bytes('E_FIN_FAILED FIN ', id, ' failed ID not in flight'));
    expect(sub.closed).toBe(false);
  });

  it("tells an id from its uppercase twin, as nsqd compares an id's bytes", async () => {
    const f = fixture();
    const topic = uniqueName('twin');
    const sub = await f.subscriber(topic, 'ch', 1);
    await f.publish(topic, 'mine');
    const message = await sub.nextMessage();
    // Node id 1023 (below): the id's bits 12 to 19 are all ones, so it holds letters to change.
    expect(message.id).toMatch(/^[0-9a-f]{11}ff[0-9a-f]{3}$/);
    const twin = message.id.toUpperCase();
    sub.send(`FIN ${twin}\nTOUCH ${twin}\n`);
    await expectErrorFrame(sub, `E_FIN_FAILED FIN ${twin} failed ID not in flight`);
    await expectErrorFrame(sub, `E_TOUCH_FAILED TOUCH ${twin} failed ID not in flight`);
    sub.send(`FIN ${message.id}\n`);
    expect(await messagesBeforeBarrier(sub)).toEqual([]);
    expect((await f.channelStats(topic, 'ch'))?.clients?.[0]).toMatchObject({ finish_count: 1 });
  });

  it("refuses FIN, REQ and TOUCH of another client's message without closing either client", async () => {
    const f = fixture();
    const topic = uniqueName('notowner');
    const owner = await f.subscriber(topic, 'ch', 1);
    const other = await f.subscriber(topic, 'ch', 0);
    await f.publish(topic, 'mine');
    const message = await owner.nextMessage();
    other.send(`FIN ${message.id}\nREQ ${message.id} 0\nTOUCH ${message.id}\n`);
    await expectErrorFrame(other, `E_FIN_FAILED FIN ${message.id} failed client does not own message`);
    await expectErrorFrame(other, `E_REQ_FAILED REQ ${message.id} failed client does not own message`);
    await expectErrorFrame(other, `E_TOUCH_FAILED TOUCH ${message.id} failed client does not own message`);
    owner.send(`FIN ${message.id}\n`);
    expect(await messagesBeforeBarrier(owner)).toEqual([]);
    // A second FIN of the same id: no longer in flight.
    owner.send(`FIN ${message.id}\n`);
    await expectErrorFrame(owner, `E_FIN_FAILED FIN ${message.id} failed ID not in flight`);
    other.send(encodeRdy(1));
    await f.publish(topic, 'next');
    const next = await Promise.race([owner.nextMessage(), other.nextMessage()]);
    expect(bodyOf(next)).toBe('next');
    expect(owner.closed || other.closed).toBe(false);
  });

  it('answers errors in order with the responses around them', async () => {
    const f = fixture();
    const topic = uniqueName('order');
    const sub = await f.subscriber(topic, 'ch', 0);
    sub.send(bytes(`FIN ${ID}\n`, encodePub(topic, Buffer.from('a')), `TOUCH ${ID}\n`, encodeMpub(topic, [Buffer.from('b')])));
    await expectErrorFrame(sub, `E_FIN_FAILED FIN ${ID} failed ID not in flight`);
    await sub.expectResponse('OK');
    await expectErrorFrame(sub, `E_TOUCH_FAILED TOUCH ${ID} failed ID not in flight`);
    await sub.expectResponse('OK');
    sub.send(encodeCommand('RDY', [2]));
    expect((await Promise.all([sub.nextMessage(), sub.nextMessage()])).map(bodyOf)).toEqual(['a', 'b']);
  });
});
