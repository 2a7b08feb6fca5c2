/**
 * nsqjs, an independent NSQ client, against the bundled broker: publish, consume, requeue, touch and
 * deferred publish must behave as they do against real nsqd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nsq from 'nsqjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';

let broker: BrokerHandle;
let dataPath: string;
const closers: Array<() => void> = [];
let topicSeq = 0;
const uniqueTopic = (): string => `nsqjs_${process.pid}_${++topicSeq}`;

beforeEach(async () => {
  dataPath = mkdtempSync(join(tmpdir(), 'nsqworker-nsqjs-'));
  broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath });
});

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await broker.close();
  rmSync(dataPath, { recursive: true, force: true });
});

async function writer(): Promise<nsq.Writer> {
  const w = new nsq.Writer('127.0.0.1', broker.tcpPort);
  closers.push(() => w.close());
  await new Promise<void>((resolve, reject) => {
    w.once('ready', resolve);
    w.once('error', reject);
    w.connect();
  });
  return w;
}

function publish(w: nsq.Writer, topic: string, msgs: string | string[]): Promise<void> {
  return new Promise((resolve, reject) => w.publish(topic, msgs, (err) => (err ? reject(err) : resolve())));
}

function reader(topic: string, channel: string, options: nsq.ReaderConnectionConfigOptions = {}): nsq.Reader {
  const r = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [broker.tcpAddress], ...options });
  closers.push(() => r.close());
  r.on('error', () => {});
  r.connect();
  return r;
}

function collect(r: nsq.Reader, count: number, onMessage: (msg: nsq.Message) => void = (m) => m.finish()): Promise<nsq.Message[]> {
  const seen: nsq.Message[] = [];
  return new Promise((resolve) => {
    r.on('message', (msg: nsq.Message) => {
      seen.push(msg);
      onMessage(msg);
      if (seen.length === count) resolve(seen);
    });
  });
}

describe('nsqjs against the bundled broker', () => {
  it('publishes single and batched messages and consumes them all', async () => {
    const topic = uniqueTopic();
    const w = await writer();
    await publish(w, topic, 'one');
    await publish(w, topic, ['two', 'three', 'four']);
    const r = reader(topic, 'ch', { maxInFlight: 10 });
    const messages = await collect(r, 4);
    expect(messages.map((m) => m.body.toString())).toEqual(['one', 'two', 'three', 'four']);
    expect(new Set(messages.map((m) => m.id)).size).toBe(4);
    for (const m of messages) expect(m.attempts).toBe(1);
  });

  it('redelivers a requeued message with its attempts counted', async () => {
    const topic = uniqueTopic();
    const w = await writer();
    await publish(w, topic, 'again');
    const r = reader(topic, 'ch', { maxInFlight: 1 });
    const seen = await collect(r, 2, (m) => (m.attempts === 1 ? m.requeue(0, false) : m.finish()));
    expect(seen[0]!.id).toBe(seen[1]!.id);
    expect(seen.map((m) => m.attempts)).toEqual([1, 2]);
  });

  it('keeps a touched message in flight past its timeout', async () => {
    const topic = uniqueTopic();
    const w = await writer();
    await publish(w, topic, 'slow');
    const r = reader(topic, 'ch', { maxInFlight: 1, messageTimeout: 1000 });
    const [message] = await collect(r, 1, () => {});
    const touchedUntil = Date.now() + 2500;
    // Touch every 400 ms for 2.5 s: the message must not come back while it is being touched.
    const redelivered = new Promise<boolean>((resolve) => r.on('message', () => resolve(true)));
    while (Date.now() < touchedUntil) {
      message!.touch();
      const early = await Promise.race([redelivered, new Promise<false>((resolve) => setTimeout(() => resolve(false), 400))]);
      expect(early).toBe(false);
    }
    message!.finish();
    const stats = (await (await fetch(`http://${broker.httpAddress}/stats?format=json&topic=${topic}`)).json()) as {
      topics: Array<{ channels: Array<{ timeout_count: number }> }>;
    };
    expect(stats.topics[0]?.channels[0]?.timeout_count).toBe(0);
  });

  it('delivers a deferred publish no earlier than its delay', async () => {
    const topic = uniqueTopic();
    const w = await writer();
    const r = reader(topic, 'ch', { maxInFlight: 1 });
    await new Promise<void>((resolve) => r.once('ready', () => resolve()));
    const sentAt = Date.now();
    await new Promise<void>((resolve, reject) => w.deferPublish(topic, ['later'], 600, (err) => (err ? reject(err) : resolve())));
    const [message] = await collect(r, 1);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(590);
    expect(message!.body.toString()).toBe('later');
  });

  it('shares a channel between two readers and copies a topic to two channels', async () => {
    const topic = uniqueTopic();
    const w = await writer();
    const a = reader(topic, 'shared', { maxInFlight: 5 });
    const b = reader(topic, 'shared', { maxInFlight: 5 });
    const other = reader(topic, 'other', { maxInFlight: 20 });
    await Promise.all([a, b, other].map((r) => new Promise<void>((resolve) => r.once('ready', () => resolve()))));
    const sharedSeen: string[] = [];
    const sharedDone = new Promise<void>((resolve) => {
      for (const r of [a, b]) {
        r.on('message', (m: nsq.Message) => {
          sharedSeen.push(m.body.toString());
          m.finish();
          if (sharedSeen.length === 20) resolve();
        });
      }
    });
    const otherDone = collect(other, 20);
    await publish(w, topic, Array.from({ length: 20 }, (_, i) => `m${i}`));
    await sharedDone;
    const otherSeen = await otherDone;
    expect(new Set(sharedSeen).size).toBe(20);
    expect(otherSeen.map((m) => m.body.toString()).sort()).toEqual([...sharedSeen].sort());
  });
});
