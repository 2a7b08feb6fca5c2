/**
 * A million-message disk backlog: published with MPUB batches over one raw connection while nobody
 * consumes, so all but mem-queue-size messages go to each channel's disk queue, then drained by one
 * consumer per channel (two channels) with RDY 2500 that FINs in batches. Every message must arrive, once, in publish order,
 * well inside a minute on two cores.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeMpub } from '../../protocol/commands.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';

const TOTAL = 1_000_000;
const BATCH = 1000;
/** How long the drain may take before the test gives up: a bound against a hang, not a performance claim. */
const BUDGET_MS = 45_000;

let harness: BrokerHarness;
beforeEach(() => {
  harness = new BrokerHarness();
});
afterEach(async () => {
  await harness.cleanup();
});

/** The body of message `i`: its number in 7 ASCII digits. */
function bodyOf(i: number): Buffer {
  return Buffer.from(String(i).padStart(7, '0'));
}

it(`drains a disk-backed backlog of ${TOTAL.toLocaleString('en')} messages completely and in order`, { timeout: 90_000 }, async () => {
  const started = Date.now();
  const broker = await harness.start();
  const topic = uniqueName('million');
  const channels = ['first', 'second'];
  for (const path of [`/topic/create?topic=${topic}`, ...channels.map((c) => `/channel/create?topic=${topic}&channel=${c}`)]) {
    expect((await httpRequest(broker.httpAddress, 'POST', path)).status).toBe(200);
  }

  // Publish: all MPUBs pipelined on one connection, in chunks so the socket buffer stays modest.
  const producer = await harness.connect(broker.tcpAddress);
  let acknowledged = 0;
  const batches = TOTAL / BATCH;
  const inFlightBatches = 64;
  let sent = 0;
  const sendBatch = (): void => {
    const bodies: Buffer[] = [];
    for (let i = sent * BATCH; i < (sent + 1) * BATCH; i++) bodies.push(bodyOf(i));
    producer.send(encodeMpub(topic, bodies));
    sent++;
  };
  while (sent < Math.min(batches, inFlightBatches)) sendBatch();
  while (acknowledged < batches) {
    await producer.expectResponse('OK');
    acknowledged++;
    if (sent < batches) sendBatch();
  }
  const published = Date.now();

  const stats = async (): Promise<Array<{ depth: number; backend_depth: number; in_flight_count: number; message_count: number }>> => {
    const res = await httpRequest(broker.httpAddress, 'GET', `/stats?format=json&topic=${topic}&include_clients=false`);
    return JSON.parse(res.text).topics[0].channels;
  };
  for (const channel of await stats()) {
    expect(channel.depth).toBe(TOTAL);
    // Memory holds mem-queue-size messages (10,000 by default); the rest are on disk.
    expect(channel.backend_depth).toBe(TOTAL - 10_000);
  }

  // One consumer per channel, both draining at once; each checks its own order.
  const next = [0, 0];
  const disorder: string[] = [];
  const consumers = await Promise.all(
    channels.map((channel, index) =>
      harness.drainer(broker.tcpAddress, topic, channel, 2500, (message) => {
        // Compare the digits without allocating a string per message.
        const body = message.body;
        let value = 0;
        for (let i = 0; i < body.length; i++) value = value * 10 + (body[i]! - 48);
        if (value !== next[index] && disorder.length < 5) disorder.push(`${channel}: message ${next[index]} was ${body.toString()}`);
        next[index]!++;
      }),
    ),
  );
  await Promise.all(consumers.map((consumer) => consumer.waitForCount(TOTAL, BUDGET_MS)));
  const drained = Date.now();
  expect(disorder).toEqual([]);
  expect(next).toEqual([TOTAL, TOTAL]);

  const final = await waitFor(async () => {
    const all = await stats();
    return all.every((c) => c.in_flight_count === 0) ? all : undefined;
  }, 'the last FINs');
  for (const c of final) expect({ depth: c.depth, backend: c.backend_depth, messages: c.message_count }).toEqual({ depth: 0, backend: 0, messages: TOTAL });

  const publishMs = published - started;
  const drainMs = drained - published;
  console.log(
    `1M backlog, 2 channels: publish ${publishMs} ms (${Math.round(TOTAL / (publishMs / 1000))} msg/s), ` +
      `drain ${drainMs} ms (${Math.round((2 * TOTAL) / (drainMs / 1000))} deliveries/s), total ${drained - started} ms`,
  );
});
