import { describe, expect, it } from 'vitest';
import { Consumer } from '../../client/consumer.ts';
import type { Message } from '../../client/message.ts';
import { Producer } from '../../client/producer.ts';
import { publishHttp } from '../../client/http-publish.ts';
import { GiveUpMessage, RequeueMessage } from '../../client/errors.ts';
import { channelStats, uniqueTopic, waitFor, testResources } from '../support/brokers.ts';

const { pool, track } = testResources();

describe('client against the bundled nsqd', () => {
  it('publishes and consumes Buffers, strings and JSON', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    await producer.publish(topic, Buffer.from('bytes'));
    await producer.publish(topic, 'text');
    await producer.publish(topic, { n: 3 });
    const received: string[] = [];
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 10 }, (m) => {
        received.push(m.text());
      }),
    ).start();
    await waitFor(() => received.length === 3, '3 messages');
    expect(received.sort()).toEqual(['bytes', 'text', '{"n":3}'].sort());
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c'))?.in_flight_count === 0, 'FINs applied');
    expect(consumer.connectedAddresses).toEqual([broker.tcpAddress]);
  });

  it('pipelines publishes: all promises settle and messages arrive in publish order', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    const settled: number[] = [];
    await Promise.all(Array.from({ length: 500 }, (_, i) => producer.publish(topic, String(i)).then(() => settled.push(i))));
    expect(settled).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const received: number[] = [];
    track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 1 }, (m) => {
        received.push(Number(m.text()));
      }),
    ).start();
    await waitFor(() => received.length === 500, '500 messages');
    expect(received).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('publishMany sends one atomic batch; publishDeferred delivers later', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    const arrivals = new Map<string, number>();
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 5 }, (m) => {
        arrivals.set(m.text(), Date.now());
      }),
    );
    const connected = new Promise((resolve) => consumer.once('connected', resolve));
    consumer.start();
    await connected;
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c')) !== undefined, 'channel exists');
    await producer.publishMany(topic, ['a', 'b', 'c']);
    const publishedAt = Date.now();
    await producer.publishDeferred(topic, 'later', 600);
    await waitFor(() => arrivals.size === 4, '4 messages');
    expect(arrivals.get('later')! - publishedAt).toBeGreaterThanOrEqual(550);
    expect(arrivals.get('a')! - publishedAt).toBeLessThan(550);
  });

  it('rejects bad input before sending, with typed codes', async () => {
    const broker = await pool.start();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], maxMessageBytes: 100 }));
    await expect(producer.publish('bad topic', 'x')).rejects.toMatchObject({ code: 'E_INVALID_TOPIC' });
    await expect(producer.publish('t', '')).rejects.toMatchObject({ code: 'E_INVALID_BODY' });
    await expect(producer.publish('t', 'x'.repeat(101))).rejects.toMatchObject({ code: 'E_BODY_TOO_LARGE' });
    await expect(producer.publishMany('t', [])).rejects.toMatchObject({ code: 'E_INVALID_BODY' });
    await expect(producer.publishDeferred('t', 'x', -5)).rejects.toMatchObject({ code: 'E_INVALID_DELAY' });
    await expect(producer.publishDeferred('t', 'x', 1.5)).rejects.toMatchObject({ code: 'E_INVALID_DELAY' });
    expect(() => new Producer({ nsqdTcpAddresses: ['nohost'] })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTIONS' }));
  });

  it('a broker refusal rejects only that publish; later pipelined publishes are retried and succeed', async () => {
    const broker = await pool.start({ maxMsgSize: 50 });
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    const results = await Promise.allSettled([
      producer.publish(topic, 'ok-1'),
      producer.publish(topic, 'x'.repeat(80)),
      producer.publish(topic, 'ok-2'),
    ]);
    expect(results[0]!.status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'E_BAD_MESSAGE' } });
    expect(results[2]!.status).toBe('fulfilled');
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c')) === undefined, 'no channel yet');
  });

  it('requeues on throw with attempts counting up, then gives up after maxAttempts with the hook', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    await producer.publish(topic, 'poison');
    const attempts: number[] = [];
    const gaveUp: { attempts: number; error: string | undefined }[] = [];
    const requeues: number[] = [];
    const consumer = track(
      new Consumer(
        {
          topic,
          channel: 'c',
          nsqdTcpAddresses: [broker.tcpAddress],
          maxAttempts: 3,
          requeueDelayMs: 10,
          maxBackoffDurationMs: 0,
          onGiveUp: (m, error) => {
            gaveUp.push({ attempts: m.attempts, error: error?.message });
          },
        },
        (m: Message) => {
          attempts.push(m.attempts);
          throw new Error(`fail ${m.attempts}`);
        },
      ),
    );
    const discarded: string[] = [];
    consumer.on('requeued', (_m, delayMs) => requeues.push(delayMs));
    consumer.on('discarded', (m) => discarded.push(m.id));
    consumer.start();
    await waitFor(() => discarded.length === 1, 'give-up');
    expect(attempts).toEqual([1, 2, 3]);
    expect(requeues).toEqual([10, 20]);
    expect(gaveUp).toEqual([{ attempts: 3, error: 'fail 3' }]);
    await waitFor(async () => {
      const s = await channelStats(broker.httpAddress, topic, 'c');
      return s !== undefined && s.in_flight_count === 0 && s.depth === 0 && s.deferred_count === 0;
    }, 'message gone');
  });

  it('a handler may answer itself; a second answer is refused and nothing is sent twice', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    await producer.publish(topic, 'x');
    const outcomes: boolean[] = [];
    const errors: Error[] = [];
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress] }, (m) => {
        outcomes.push(m.touch(), m.finish(), m.finish(), m.requeue());
      }),
    );
    consumer.on('error', (e) => errors.push(e));
    consumer.start();
    await waitFor(() => outcomes.length === 4, 'handler ran');
    expect(outcomes).toEqual([true, true, false, false]);
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c'))?.in_flight_count === 0, 'FIN applied');
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);
  });

  it("says a connection its own close ended was disconnected without an error, compressed or not", async () => {
    const broker = await pool.start();
    for (const compression of [{}, { snappy: true }, { deflate: true }]) {
      const consumer = new Consumer({ topic: uniqueTopic(), channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], ...compression }, () => {});
      let connected = false;
      const disconnected: unknown[] = [];
      consumer.on('connected', () => (connected = true));
      consumer.on('disconnected', (_address, error) => disconnected.push(error));
      consumer.start();
      await waitFor(() => connected, 'connected');
      await consumer.close();
      expect(disconnected, JSON.stringify(compression)).toEqual([undefined]);
    }
  });

  it('publishes over HTTP with /pub and binary /mpub, and surfaces nsqd refusals', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    await publishHttp(broker.httpAddress, topic, 'one');
    await publishHttp(broker.httpAddress, topic, ['two', Buffer.from('three\nwith newline')]);
    const received: string[] = [];
    track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 5 }, (m) => {
        received.push(m.text());
      }),
    ).start();
    await waitFor(() => received.length === 3, '3 messages');
    expect(received.sort()).toEqual(['one', 'three\nwith newline', 'two']);
    await expect(publishHttp(broker.httpAddress, topic, 'x', { deferMs: 99_999_999 })).rejects.toMatchObject({
      code: 'E_HTTP_PUBLISH_FAILED',
      status: 400,
      reason: 'INVALID_DEFER',
    });
  });

  it('handlers steer by throwing: RequeueMessage picks the delay and skips backoff, GiveUpMessage discards now', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress] }));
    await producer.publishMany(topic, ['retry', 'drop']);
    const requeued: [string, number, string | undefined][] = [];
    const discarded: [string, number, string | undefined][] = [];
    const levels: number[] = [];
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 2 }, (m) => {
        if (m.text() === 'drop') throw new GiveUpMessage('not for us');
        if (m.attempts === 1) throw new RequeueMessage(30, false);
      }),
    );
    consumer.on('requeued', (m, delayMs, error) => requeued.push([m.text(), delayMs, error?.name]));
    consumer.on('discarded', (m, error) => discarded.push([m.text(), m.attempts, error?.message]));
    consumer.on('backoff', (level) => levels.push(level));
    const finished: string[] = [];
    consumer.on('finished', (m) => finished.push(`${m.text()}@${m.attempts}`));
    consumer.start();
    await waitFor(() => finished.includes('retry@2') && discarded.length === 1, 'both outcomes');
    expect(requeued).toEqual([['retry', 30, 'RequeueMessage']]);
    expect(discarded).toEqual([['drop', 1, 'not for us']]);
    expect(levels).toEqual([]);
  });
});
