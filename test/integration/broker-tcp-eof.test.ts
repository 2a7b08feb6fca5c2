/**
 * A client that half-closes (ends its side of the stream) on the bundled nsqd: what it sent is still
 * answered; a body command cut off in its size or body gets nsqd's "failed to read" error, after the
 * checks nsqd makes before reading a body; a cut line or magic closes silently.
 */
import { describe, expect, it } from 'vitest';
import { MAGIC_V2, encodeIdentify, encodePub, encodeSub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import { bodyOf, brokerPerTest, uniqueName } from './helpers/broker-tcp-fixture.ts';

const int32 = (value: number): Buffer => {
  const word = Buffer.alloc(4);
  word.writeInt32BE(value);
  return word;
};
const bytes = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
const sized = (text: string): Buffer => bytes(int32(text.length), text);

const cutOffCases: Array<[string, (topic: string) => Buffer, string]> = [
  ['PUB cut in its size', (t) => bytes(`PUB ${t}\n`, int32(5).subarray(0, 2)), 'E_BAD_MESSAGE PUB failed to read message body size'],
  ['PUB cut right after its line', (t) => bytes(`PUB ${t}\n`), 'E_BAD_MESSAGE PUB failed to read message body size'],
  ['PUB cut in its body', (t) => bytes(`PUB ${t}\n`, int32(10), 'abc'), 'E_BAD_MESSAGE PUB failed to read message body'],
  ['DPUB cut in its size', (t) => bytes(`DPUB ${t} 100\n`, int32(5).subarray(0, 3)), 'E_BAD_MESSAGE DPUB failed to read message body size'],
  ['DPUB cut in its body', (t) => bytes(`DPUB ${t} 100\n`, int32(10), 'abc'), 'E_BAD_MESSAGE DPUB failed to read message body'],
  ['MPUB cut in its size', (t) => bytes(`MPUB ${t}\n`, int32(5).subarray(0, 1)), 'E_BAD_BODY MPUB failed to read body size'],
  ['MPUB cut in its count', (t) => bytes(`MPUB ${t}\n`, int32(100), int32(2).subarray(0, 2)), 'E_BAD_BODY MPUB failed to read message count'],
  ['MPUB cut in a message size', (t) => bytes(`MPUB ${t}\n`, int32(100), int32(2), sized('a'), int32(1).subarray(0, 3)), 'E_BAD_MESSAGE MPUB failed to read message(1) body size'],
  ['MPUB cut in a message body', (t) => bytes(`MPUB ${t}\n`, int32(100), int32(2), sized('a'), int32(5), 'ab'), 'E_BAD_MESSAGE MPUB failed to read message body'],
  ['IDENTIFY cut in its size', () => bytes('IDENTIFY\n', int32(2).subarray(0, 2)), 'E_BAD_BODY IDENTIFY failed to read body size'],
  ['IDENTIFY cut in its body', () => bytes('IDENTIFY\n', int32(20), '{"client'), 'E_BAD_BODY IDENTIFY failed to read body'],
  ['AUTH cut in its size', () => bytes('AUTH\n'), 'E_BAD_BODY AUTH failed to read body size'],
  ['AUTH cut in its body', () => bytes('AUTH\n', int32(20), 'sec'), 'E_BAD_BODY AUTH failed to read body'],
  // The checks nsqd makes before it reads a body come first.
  ['PUB to a bad topic, cut', () => bytes('PUB bad!topic\n'), 'E_BAD_TOPIC PUB topic name "bad!topic" is not valid'],
  ['DPUB of a bad delay, cut', (t) => bytes(`DPUB ${t} soon\n`), 'E_INVALID DPUB could not parse timeout soon'],
  ['MPUB without a topic, cut', () => bytes('MPUB\n', int32(9)), 'E_INVALID MPUB insufficient number of parameters'],
  ['AUTH with a parameter, cut', () => bytes('AUTH x\n'), 'E_INVALID AUTH invalid number of parameters'],
];

describe('bundled nsqd TCP: end of stream', () => {
  const fixture = brokerPerTest();

  it('answers what a client sent before it half-closed, then closes', async () => {
    const f = fixture();
    const topic = uniqueName('halfclose');
    const client = await f.connect({ magic: false });
    client.socket.end(bytes(MAGIC_V2, encodePub(topic, Buffer.from('one')), encodePub(topic, Buffer.from('two'))));
    await client.expectResponse('OK');
    await client.expectResponse('OK');
    await client.waitClosed();
    const sub = await f.subscriber(topic, 'ch', 2);
    expect([bodyOf(await sub.nextMessage()), bodyOf(await sub.nextMessage())]).toEqual(['one', 'two']);
  });

  for (const [name, send, error] of cutOffCases) {
    it(`answers ${name} with ${error}`, async () => {
      const f = fixture();
      const topic = uniqueName('cut');
      const client = await f.connect();
      client.send(encodePub(topic, Buffer.from('kept')));
      await client.expectResponse('OK');
      client.socket.end(send(topic));
      const frame = await client.nextFrame();
      expect({ type: frame.type, data: frame.data.toString() }).toEqual({ type: FrameType.Error, data: error });
      await client.waitClosed();
      expect(client.pending).toBe(0);
      const sub = await f.subscriber(topic, 'ch', 5);
      expect(bodyOf(await sub.nextMessage())).toBe('kept');
    });
  }

  it('answers a state error first for IDENTIFY after SUB, cut', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(encodeSub(uniqueName('cutsub'), 'ch'));
    await client.expectResponse('OK');
    client.socket.end('IDENTIFY\n');
    await client.expectError('E_INVALID cannot IDENTIFY in current state');
    await client.waitClosed();
  });

  it('publishes an MPUB whose messages all arrived though its body size promised more, as nsqd reads only the messages', async () => {
    const f = fixture();
    const topic = uniqueName('mpubshort');
    const client = await f.connect();
    client.socket.end(bytes(`MPUB ${topic}\n`, int32(100), int32(2), sized('a'), sized('b')));
    await client.expectResponse('OK');
    await client.waitClosed();
    expect(await f.topicStats(topic)).toMatchObject({ message_count: 2, depth: 2 });
  });

  it('closes silently on a stream that ends in a line', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(encodeIdentify({}));
    await client.expectResponse('OK');
    client.socket.end('SUB topic ch');
    await client.waitClosed();
    expect(client.pending).toBe(0);
  });

  it('closes silently on a stream that ends in the magic', async () => {
    const f = fixture();
    const client = await f.connect({ magic: false });
    client.socket.end('  V');
    await client.waitClosed();
    expect(client.pending).toBe(0);
  });
});
