/**
 * A disk backlog of 200,000 messages: published with MPUB batches over one raw connection while
 * nobody consumes, so all but mem-queue-size messages go to each channel's disk queue, in files of
 * 512 KiB (about 14 per channel: the reader crosses from file to file while the writer is done),
 * then drained by one consumer per channel (two channels) with RDY 2500 that FINs in batches. Every
 * message must arrive, once, in publish order. The million-message backlog, and its speed, are
 * `npm run bench broker`'s.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeMpub } from '../../protocol/commands.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';

const TOTAL = 200_000;
const MAX_BYTES_PER_FILE = 512 * 1024;
const BATCH = 1000;
/** How long the drain may take before the test gives up: a bound against a hang, not a performance claim. */
const BUDGET_MS = 30_000;

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

it(`drains a disk-backed backlog of ${TOTAL.toLocaleString('en')} messages completely and in order`, { timeout: 60_000 }, async () => {
  const started = Date.now();
  const dataPath = await harness.tempDir();
  const broker = await harness.start({ dataPath, maxBytesPerFile: MAX_BYTES_PER_FILE });
  const topic = uniqueName('backlog');
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
  // Each channel's disk queue spans many files (nsqd's names: <topic>:<channel>.diskqueue.NNNNNN.dat).
  const files = await readdir(dataPath);
  for (const channel of channels) {
    expect(files.filter((file) => file.startsWith(`${topic}:${channel}.diskqueue.`) && file.endsWith('.dat')).length).toBeGreaterThan(10);
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
    `${TOTAL / 1000}k backlog, 2 channels: publish ${publishMs} ms (${Math.round(TOTAL / (publishMs / 1000))} msg/s), ` +
      `drain ${drainMs} ms (${Math.round((2 * TOTAL) / (drainMs / 1000))} deliveries/s), total ${drained - started} ms`,
  );
});
