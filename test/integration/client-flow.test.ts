import { describe, expect, it } from 'vitest';
import { Consumer, type ConsumerWarning } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import type { Message } from '../../client/message.ts';
import { channelStats, uniqueTopic, waitFor, testResources } from '../support/brokers.ts';
import { resourcesTest } from '../support/resources-test.ts';

const { pool, track } = testResources();

async function publishTo(address: string, topic: string, bodies: string[]): Promise<void> {
  const producer = new Producer({ nsqdTcpAddresses: [address] });
  await producer.publishMany(topic, bodies);
  await producer.close();
}

describe.each([1, 2])('RDY distribution over three brokers with maxInFlight %i', (maxInFlight) => {
  it("consumes every broker's messages without exceeding maxInFlight", async () => {
    const brokers = await Promise.all([pool.start(), pool.start(), pool.start()]);
    const topic = uniqueTopic();
    for (const [i, b] of brokers.entries()) await publishTo(b.tcpAddress, topic, Array.from({ length: 6 }, (_, j) => `b${i}-${j}`));
    let running = 0;
    let maxRunning = 0;
    const received = new Set<string>();
    const warnings: ConsumerWarning[] = [];
    const consumer = track(
      new Consumer(
        {
          topic,
          channel: 'c',
          nsqdTcpAddresses: brokers.map((b) => b.tcpAddress),
          maxInFlight,
          rdyRedistributeIntervalMs: 100,
          lowRdyIdleTimeoutMs: 200,
        },
        async (m) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          received.add(m.text());
          running--;
        },
      ),
    );
    consumer.on('warning', (w) => warnings.push(w));
    consumer.start();
    await waitFor(() => received.size === 18, 'all 18 messages', 15_000);
    expect(maxRunning).toBeLessThanOrEqual(maxInFlight);
    expect(warnings.find((w) => w.code === 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS')).toEqual({
      code: 'W_MAX_IN_FLIGHT_BELOW_CONNECTIONS',
      message: `maxInFlight ${maxInFlight} is below the 3 connections: RDY rotates among them every 100ms, so a message may wait at an nsqd up to ${maxInFlight === 1 ? 300 : 200}ms; a maxInFlight of 3 or more reads from every nsqd at once`,
      connections: 3,
    });
  });
});

describe('flow control', () => {
  it('setMaxInFlight(0) pauses delivery and raising it resumes', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    let received = 0;
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 0 }, () => {
        received++;
      }),
    );
    const connected = new Promise((resolve) => consumer.once('connected', resolve));
    consumer.start();
    await connected;
    await publishTo(broker.tcpAddress, topic, ['a', 'b', 'c']);
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c'))?.depth === 3, 'backlog of 3');
    expect(received).toBe(0);
    consumer.setMaxInFlight(3);
    await waitFor(() => received === 3, '3 messages after resume');
  });

  it('backs off on failures (RDY 0, then a RDY 1 test) and recovers to normal flow', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, Array.from({ length: 20 }, (_, i) => String(i)));
    let failuresLeft = 3;
    const done = new Set<string>();
    const levels: number[] = [];
    const consumer = track(
      new Consumer(
        {
          topic,
          channel: 'c',
          nsqdTcpAddresses: [broker.tcpAddress],
          maxInFlight: 4,
          requeueDelayMs: 0,
          backoffMultiplierMs: 20,
          maxAttempts: 0,
        },
        (m) => {
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new Error('transient');
          }
          done.add(m.text());
        },
      ),
    );
    consumer.on('backoff', (level) => levels.push(level));
    const started = Date.now();
    consumer.start();
    await waitFor(() => done.size === 20, 'all 20 messages');
    expect(Math.max(...levels)).toBeGreaterThanOrEqual(1);
    expect(levels.at(-1)).toBe(0);
    expect(consumer.backoffLevel).toBe(0);
    // At least the first wait (2 × 20 ms) really happened.
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c'))?.in_flight_count === 0, 'nothing in flight');
  });

  it('requeue without backoff does not back off', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, ['x']);
    const levels: number[] = [];
    let seen = 0;
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], backoffMultiplierMs: 20 }, (m) => {
        seen++;
        if (m.attempts < 3) m.requeue(0, { backoff: false });
      }),
    );
    consumer.on('backoff', (level) => levels.push(level));
    consumer.start();
    await waitFor(() => seen === 3, 'three deliveries');
    expect(levels).toEqual([]);
  });

  it('close() stops deliveries, waits for running handlers and FINs them; a second call awaits the same close', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, Array.from({ length: 10 }, (_, i) => String(i)));
    let started = 0;
    let finished = 0;
    const consumer = new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 3 }, async () => {
      started++;
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished++;
    });
    consumer.start();
    await waitFor(() => started === 3, '3 handlers running');
    const first = consumer.close();
    const second = consumer.close();
    expect(second).toBe(first);
    await first;
    expect(finished).toBe(started);
    expect(started).toBe(3);
    const stats = await channelStats(broker.httpAddress, topic, 'c');
    expect(stats).toMatchObject({ depth: 7, in_flight_count: 0 });
  });

  it('close() requeues what a hung handler still holds once closeTimeoutMs has passed', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, ['stuck']);
    let started = 0;
    const consumer = new Consumer(
      { topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], closeTimeoutMs: 200 },
      () =>
        new Promise<void>(() => {
          started++;
        }),
    );
    consumer.start();
    await waitFor(() => started === 1, 'handler running');
    const t0 = Date.now();
    await consumer.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t0).toBeLessThan(3000);
    await waitFor(async () => {
      const s = await channelStats(broker.httpAddress, topic, 'c');
      return s?.in_flight_count === 0 && s.depth === 1;
    }, 'message requeued at once');
  });
});

// Each test waits seconds for a timeout and costs little CPU: they wait together, each with brokers of its own.
describe.concurrent('message timeouts', () => {
  const it = resourcesTest;
  // The timeout the consumer asks for in IDENTIFY, or, when it asks for none, the nsqd's own (--msg-timeout).
  it.for([
    { whose: "the consumer's msgTimeoutMs", consumerTimeout: { msgTimeoutMs: 1000 }, brokerTimeout: {} },
    { whose: "the nsqd's own timeout, the consumer setting none", consumerTimeout: {}, brokerTimeout: { msgTimeoutMs: 1000 } },
  ])('autoTouch keeps a slow message in flight past $whose', async ({ consumerTimeout, brokerTimeout }, { pool, track }) => {
    const broker = await pool.start(brokerTimeout);
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, ['slow']);
    const attempts: number[] = [];
    const errors: Error[] = [];
    const warnings: ConsumerWarning[] = [];
    let finished = 0;
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], ...consumerTimeout, autoTouch: true }, async (m) => {
        attempts.push(m.attempts);
        await new Promise((resolve) => setTimeout(resolve, 2200));
      }),
    );
    consumer.on('error', (e) => errors.push(e));
    consumer.on('warning', (w) => warnings.push(w));
    consumer.on('finished', () => finished++);
    consumer.start();
    await waitFor(() => finished === 1, 'slow message finished', 6000);
    await waitFor(async () => (await channelStats(broker.httpAddress, topic, 'c'))?.in_flight_count === 0, 'FIN applied');
    expect(attempts).toEqual([1]);
    expect(errors).toEqual([]);
    // Touched, it never outlived its timeout: no warning that it did.
    expect(warnings).toEqual([]);
  });

  it('warns once of a message its handler holds past the message timeout', async ({ pool, track }) => {
    const broker = await pool.start({ msgTimeoutMs: 1000 });
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, ['hangs']);
    const warnings: ConsumerWarning[] = [];
    let hung: Message | undefined;
    // No msgTimeoutMs of its own: the broker's, from IDENTIFY. The first delivery's handler never ends.
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 2, closeTimeoutMs: 100 }, (m) => {
        if (m.attempts > 1) return undefined;
        hung = m;
        return new Promise<void>(() => {});
      }),
    );
    consumer.on('error', () => {});
    consumer.on('warning', (w) => warnings.push(w));
    consumer.start();
    await waitFor(() => warnings.length > 0, 'the warning', 6000);
    expect(warnings[0]!.code).toBe('W_MESSAGE_PAST_MSG_TIMEOUT');
    expect(warnings[0]!.message).toMatch(new RegExp(`^message [0-9a-f]{16} has been in flight for over 1s, the message timeout of nsqd ${broker.tcpAddress}, unanswered: nsqd takes it back`));
    // Scans go on, and find it again: the same message is not named again.
    const scansThen = hung!['inFlightScans'];
    await waitFor(() => hung!['inFlightScans'] >= scansThen + 2, 'two more scans of the held message', 4000);
    expect(warnings.filter((w) => w.code === 'W_MESSAGE_PAST_MSG_TIMEOUT')).toHaveLength(1);
  });

  it('lets go of a held message past its timeout, unwarned: copies do not pile up behind a hung handler', async ({ pool, track }) => {
    const broker = await pool.start({ msgTimeoutMs: 1000 });
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, ['hangs', 'waits']);
    const warnings: ConsumerWarning[] = [];
    const errors: Error[] = [];
    // maxInFlight 1, taken for good by the first message: nsqd sends again what times out (its
    // count drops), and the consumer holds it, its one handler busy.
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 1, closeTimeoutMs: 100 }, (m) =>
        m.body.toString() === 'hangs' && m.attempts === 1 ? new Promise<void>(() => {}) : undefined,
      ),
    );
    consumer.on('error', (e) => errors.push(e));
    consumer.on('warning', (w) => warnings.push(w));
    consumer.start();
    // Six timeouts: the hung one's first, then held copies' (each held one nsqd took back and sent again).
    await waitFor(async () => ((await channelStats(broker.httpAddress, topic, 'c'))?.timeout_count ?? 0) >= 6, 'six timeouts', 20_000);
    const subscription = consumer['rdy'].connections[0]!;
    // The hung one, and the copies sent since the last scans (once a second, against a 1 s timeout):
    // not one per timeout, as when every copy was kept (7 here).
    expect(subscription.messages.size).toBeLessThanOrEqual(4);
    expect(subscription.inFlight).toBe(subscription.messages.size);
    // Only the running handler's message is named: a held copy never ran, and nsqd has it back.
    expect(warnings.filter((w) => w.code === 'W_MESSAGE_PAST_MSG_TIMEOUT')).toHaveLength(1);
    expect(consumer.runningHandlers).toBe(1);
  });

  it('without autoTouch the broker times the message out; the late FIN is a non-fatal error event and the connection stays', async ({ pool, track }) => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    await publishTo(broker.tcpAddress, topic, ['slow']);
    const attempts: number[] = [];
    const errors: { code?: string; fatal?: boolean }[] = [];
    let disconnects = 0;
    // The first attempt answers only once the broker has timed it out and delivered it again: real
    // nsqd notices a timeout when its queue scan reaches the channel, up to 5 s after it appeared.
    let redelivered!: () => void;
    const secondAttempt = new Promise<void>((resolve) => (redelivered = resolve));
    const consumer = track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], msgTimeoutMs: 1000, maxInFlight: 2 }, async (m) => {
        attempts.push(m.attempts);
        if (m.attempts === 1) await secondAttempt;
        else redelivered();
      }),
    );
    consumer.on('error', (e) => errors.push(e as never));
    consumer.on('disconnected', () => disconnects++);
    consumer.start();
    await waitFor(() => errors.length === 1, 'E_FIN_FAILED', 12_000);
    expect(errors[0]).toMatchObject({ code: 'E_FIN_FAILED', fatal: false });
    expect(attempts).toEqual([1, 2]);
    expect(disconnects).toBe(0);
    expect(consumer.connectedAddresses).toEqual([broker.tcpAddress]);
  });
});
