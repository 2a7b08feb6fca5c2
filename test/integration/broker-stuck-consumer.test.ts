/**
 * A consumer that stops reading (RDY high, its socket never read): the broker stops writing to it
 * once its socket holds more than the backlog limit, so the memory it costs stays bounded whatever
 * the backlog; the other consumers of the channel keep getting every other message meanwhile; and
 * what it held in flight goes to them when its messages time out. A client that sends commands and
 * reads none of the answers stops being read, and is dropped (nsqd's write deadline). A deflate
 * consumer's backlog held in the deflate stream resumes as that stream drains.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect } from 'vitest';
import { MAGIC_V2, encodeIdentify, encodeMpub, encodeRdy, encodeSub } from '../../protocol/commands.ts';
import { Consumer } from '../../client/consumer.ts';
import { uniqueName, waitFor } from './helpers/broker-harness.ts';
import { harnessTest as it } from './helpers/harness-test.ts';

/** A raw socket destroyed when the test ends. */
const destroyedAtEnd = (socket: Socket): { close(): void } => ({ close: () => socket.destroy() });

/** The socket backlog limit (client-connection.ts), the output buffer capacity, one message of slack. */
const BOUND_BYTES = (1 << 20) + 65_536 + 8192;
// Long enough that the first pass ends before it even while the file's other tests load the same
// process (a 200 MB flood among them): 6.9 s once, with 4 s, under a full suite run.
const MESSAGE_TIMEOUT_MS = 10_000;

describe.concurrent('a consumer that stops reading', () => {
  it('costs bounded memory, does not slow the others, and its messages go to them after the timeout', async ({ harness }) => {
    const broker = await harness.start({ msgTimeoutMs: MESSAGE_TIMEOUT_MS });
    const topic = uniqueName();
    const channel = broker.nsqd.getOrCreateTopic(topic).getOrCreateChannel('c');

    // Subscribes with RDY 2500 and never reads a byte: no 'data' listener, so the socket stays paused.
    const stuck = connect({ host: '127.0.0.1', port: broker.tcpPort });
    harness.track(destroyedAtEnd(stuck));
    stuck.on('error', () => {});
    await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
    stuck.write(Buffer.concat([MAGIC_V2, encodeSub(topic, 'c'), encodeRdy(2500)]));
    await waitFor(() => channel.subscribers.length === 1, 'the stuck consumer to subscribe');
    const stuckClient = channel.subscribers[0] as unknown as { socket: Socket; inFlightCount: number };

    const total = 4000;
    const seen = new Set<string>();
    const good = await harness.drainer(broker.tcpAddress, topic, 'c', 200, (message) => seen.add(message.body.toString()));
    await waitFor(() => channel.subscribers.length === 2, 'the good consumer to subscribe');

    // Sample what the broker holds for the stuck consumer while the load runs (measurement only).
    let peakBytes = 0;
    const sampler = setInterval(() => {
      peakBytes = Math.max(peakBytes, stuckClient.socket.writableLength);
    }, 5);
    const producer = await harness.connect(broker.tcpAddress);
    const pad = 'x'.repeat(4000);
    for (let start = 0; start < total; start += 100) {
      producer.send(encodeMpub(topic, Array.from({ length: 100 }, (_, i) => Buffer.from(`${start + i}:${pad}`))));
    }
    for (let i = 0; i < total / 100; i++) await producer.expectResponse('OK');

    // Everything the stuck consumer does not hold reaches the good one before any timeout: counted
    // by the broker's timeouts, not the clock, which a loaded machine stretches.
    let timeoutsAtFirstPass = -1;
    await waitFor(() => {
      if (seen.size < total - stuckClient.inFlightCount) return false;
      timeoutsAtFirstPass = channel.timeoutCount;
      return true;
    }, 'the good consumer to get every message the stuck one does not hold', MESSAGE_TIMEOUT_MS);
    const held = stuckClient.inFlightCount;
    expect(held).toBeGreaterThan(0);
    expect(timeoutsAtFirstPass).toBe(0);

    // After the timeout, the stuck consumer's messages go to the good one.
    await good.waitForCount(total, MESSAGE_TIMEOUT_MS * 2);
    clearInterval(sampler);
    expect(seen.size).toBe(total);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(BOUND_BYTES);
    console.log(`stuck consumer: ${held} messages held in flight, peak ${peakBytes} bytes queued in its socket (bound ${BOUND_BYTES})`);
  }, 40_000);
});

describe.concurrent('a client that sends commands and never reads the answers', () => {
  it('is no longer read once its answers back up, and is dropped after its heartbeat interval; others are served', async ({ harness }) => {
    const broker = await harness.start();
    const topic = uniqueName();
    broker.nsqd.getOrCreateTopic(topic).getOrCreateChannel('c');
    const flooder = connect({ host: '127.0.0.1', port: broker.tcpPort });
    harness.track(destroyedAtEnd(flooder));
    flooder.on('error', () => {});
    await new Promise<void>((resolve) => flooder.once('connect', () => resolve()));
    // Each FIN of an id not in flight is answered with a ~50-byte E_FIN_FAILED, not fatal; none is read.
    flooder.write(Buffer.concat([MAGIC_V2, encodeIdentify({ heartbeat_interval: 1000 }), encodeSub(topic, 'c')]));
    const fins = Buffer.from('FIN 0123456789abcdef\n'.repeat(50_000));
    let closed = false;
    flooder.once('close', () => (closed = true));
    // Unbounded before: every FIN was read and its answer queued (1 GB of memory for 200 MB sent).
    // Now the broker stops reading past its backlog limit, so the writes back up here, and it
    // drops the client a heartbeat interval later. At most 200 MB are offered.
    let offered = 0;
    while (!closed && offered < 200 * (1 << 20)) {
      offered += fins.length;
      if (!flooder.write(fins)) await new Promise<void>((resolve) => (flooder.once('drain', resolve), flooder.once('close', resolve)));
    }
    await waitFor(() => closed, 'the broker to drop the client that reads nothing', 10_000);
    expect(offered).toBeLessThan(200 * (1 << 20));
    // Everyone else is served meanwhile and after.
    const other = await harness.connect(broker.tcpAddress);
    other.send(encodeMpub(topic, [Buffer.from('still here')]));
    await other.expectResponse('OK');
  }, 30_000);
});

describe.concurrent('a deflate consumer whose messages back up in the deflate stream, not the socket', () => {
  it('gets every message: delivery resumes once the stream drains', async ({ harness }) => {
    // The backlog limit counts the bytes the deflate stream has not compressed yet; delivery waited
    // for the socket's 'drain', which a socket that never filled does not emit: it stopped for good
    // after about a megabyte (260 of 40,000 messages in 15 s).
    const broker = await harness.start();
    const topic = uniqueName();
    const producer = await harness.connect(broker.tcpAddress);
    const total = 3000;
    const body = Buffer.alloc(4000, 'a');
    for (let start = 0; start < total; start += 100) producer.send(encodeMpub(topic, Array.from({ length: 100 }, () => body)));
    for (let i = 0; i < total / 100; i++) await producer.expectResponse('OK');
    let received = 0;
    const consumer = new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 2500, deflate: true, deflateLevel: 1 }, () => {
      received++;
    });
    consumer.start();
    try {
      await waitFor(() => received === total, `every message (${received} so far)`, 20_000);
    } finally {
      await consumer.close();
    }
  }, 30_000);
});

describe.concurrent('a consumer that reads slowly but steadily (large messages, RDY 2500)', () => {
  it('is read and FINs as it goes, gets every message, and is not dropped at its heartbeat interval', async ({ harness }) => {
    // Its socket stays past the backlog limit for longer than its 1 s heartbeat interval while it reads
    // at 4 MB/s: it was paused (its FINs unread), then dropped as if it had read nothing.
    const broker = await harness.start();
    const topic = uniqueName();
    const total = 150;
    const producer = await harness.connect(broker.tcpAddress);
    const body = Buffer.alloc(100_000, 0x78);
    for (let start = 0; start < total; start += 10) producer.send(encodeMpub(topic, Array.from({ length: 10 }, () => body)));
    for (let i = 0; i < total / 10; i++) await producer.expectResponse('OK');
    const consumer = connect({ host: '127.0.0.1', port: broker.tcpPort });
    harness.track(destroyedAtEnd(consumer));
    consumer.on('error', () => {});
    let closed = false;
    consumer.once('close', () => (closed = true));
    consumer.write(Buffer.concat([MAGIC_V2, encodeIdentify({ heartbeat_interval: 1000 }), encodeSub(topic, 'c'), encodeRdy(2500)]));
    // Reads 200 KB every 50 ms, as a slow link would deliver them.
    let budget = 0;
    const pacer = setInterval(() => {
      budget = 200_000;
      consumer.resume();
    }, 50);
    let pending = Buffer.alloc(0);
    let received = 0;
    consumer.on('data', (chunk: Buffer) => {
      budget -= chunk.length;
      if (budget <= 0) consumer.pause();
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const size = pending.readUInt32BE(0);
        const [type, data] = [pending.readUInt32BE(4), pending.subarray(8, 4 + size)];
        pending = pending.subarray(4 + size);
        if (type === 2) {
          received++;
          consumer.write(`FIN ${data.subarray(10, 26).toString('latin1')}\n`);
        } else if (type === 0 && data.toString() === '_heartbeat_') consumer.write('NOP\n');
      }
    });
    try {
      await waitFor(() => received === total || closed, 'every message, or the close', 25_000);
    } finally {
      clearInterval(pacer);
    }
    expect({ received, closed }).toEqual({ received: total, closed: false });
  }, 30_000);
});
