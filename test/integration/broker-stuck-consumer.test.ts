/**
 * A consumer that stops reading (RDY high, its socket never read): the broker stops writing to it
 * once its socket holds more than the backlog limit, so the memory it costs stays bounded whatever
 * the backlog; the other consumers of the channel keep getting every other message meanwhile; and
 * what it held in flight goes to them when its messages time out.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAGIC_V2, encodeMpub, encodeRdy, encodeSub } from '../../protocol/commands.ts';
import { BrokerHarness, uniqueName, waitFor } from './helpers/broker-harness.ts';

const harness = new BrokerHarness();
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await harness.cleanup();
});

/** The socket backlog limit (client-connection.ts), the output buffer capacity, one message of slack. */
const BOUND_BYTES = (1 << 20) + 65_536 + 8192;
const MESSAGE_TIMEOUT_MS = 4000;

describe('a consumer that stops reading', () => {
  it('costs bounded memory, does not slow the others, and its messages go to them after the timeout', async () => {
    const broker = await harness.start({ msgTimeoutMs: MESSAGE_TIMEOUT_MS });
    const topic = uniqueName();
    const channel = broker.nsqd.getOrCreateTopic(topic).getOrCreateChannel('c');

    // Subscribes with RDY 2500 and never reads a byte: no 'data' listener, so the socket stays paused.
    const stuck = connect({ host: '127.0.0.1', port: broker.tcpPort });
    sockets.push(stuck);
    stuck.on('error', () => {});
    await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
    stuck.write(Buffer.concat([MAGIC_V2, encodeSub(topic, 'c'), encodeRdy(2500)]));
    await waitFor(() => channel.subscribers.length === 1, 'the stuck consumer to subscribe');
    const stuckClient = channel.subscribers[0] as unknown as { socket: Socket; inFlightCount: number };

    const total = 4000;
    const seen = new Set<string>();
    let firstPassAt = 0;
    const good = await harness.drainer(broker.tcpAddress, topic, 'c', 200, (message) => seen.add(message.body.toString()));
    await waitFor(() => channel.subscribers.length === 2, 'the good consumer to subscribe');

    // Sample what the broker holds for the stuck consumer while the load runs (measurement only).
    let peakBytes = 0;
    const sampler = setInterval(() => {
      peakBytes = Math.max(peakBytes, stuckClient.socket.writableLength);
    }, 5);
    const publishedAt = Date.now();
    const producer = await harness.connect(broker.tcpAddress);
    const pad = 'x'.repeat(4000);
    for (let start = 0; start < total; start += 100) {
      producer.send(encodeMpub(topic, Array.from({ length: 100 }, (_, i) => Buffer.from(`${start + i}:${pad}`))));
    }
    for (let i = 0; i < total / 100; i++) await producer.expectResponse('OK');

    // Everything the stuck consumer does not hold reaches the good one before any timeout.
    await waitFor(() => {
      if (seen.size < total - stuckClient.inFlightCount) return false;
      firstPassAt = Date.now();
      return true;
    }, 'the good consumer to get every message the stuck one does not hold', MESSAGE_TIMEOUT_MS * 2);
    const held = stuckClient.inFlightCount;
    expect(held).toBeGreaterThan(0);
    expect(firstPassAt - publishedAt).toBeLessThan(MESSAGE_TIMEOUT_MS);

    // After the timeout, the stuck consumer's messages go to the good one.
    await good.waitForCount(total, MESSAGE_TIMEOUT_MS * 4);
    clearInterval(sampler);
    expect(seen.size).toBe(total);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(BOUND_BYTES);
    console.log(`stuck consumer: ${held} messages held in flight, peak ${peakBytes} bytes queued in its socket (bound ${BOUND_BYTES})`);
  }, 30_000);
});
