/**
 * Sync mode, a failed fsync while a consumer is being sent a message: the group commit runs in the
 * flush of that send and drops every connection waiting for an OK, the consumer among them when it
 * has just published. The message it was being sent must go back to the channel, not stay in flight
 * for a connection that is gone.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeIdentify, encodePub, encodeRdy, encodeSub } from '../../protocol/commands.ts';
import { channelStats } from '../support/brokers.ts';
import { BrokerHarness, uniqueName, waitFor } from './helpers/broker-harness.ts';

const harness = new BrokerHarness();
const realFdatasync = fs.fdatasyncSync;
/** What a disk that cannot write answers an fdatasync. */
const fdatasyncFails = (): never => {
  throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
};
afterEach(async () => {
  fs.fdatasyncSync = realFdatasync;
  await harness.cleanup();
});

/** Channel `c` of `topic`. */
const channelCounts = (http: string, topic: string): ReturnType<typeof channelStats> => channelStats(http, topic, 'c');

describe('sync mode: fsync failure during a delivery', () => {
  it('puts back the message being sent to a consumer the failed commit drops', async () => {
    const broker = await harness.start({ memQueueSize: 0, syncEvery: 1 });
    const topic = uniqueName('fsyncfail');
    const consumer = await harness.connect(broker.tcpAddress);
    consumer.send(encodeIdentify({ output_buffer_size: 64 }));
    await consumer.nextFrame();
    consumer.send(encodeSub(topic, 'c'));
    await consumer.expectResponse('OK');
    let failed = 0;
    fs.fdatasyncSync = () => {
      failed++;
      fdatasyncFails();
    };
    // One chunk: the PUB leaves its OK waiting for the commit, the RDY delivers its message, whose
    // frame (over 64 bytes) is flushed at once, running the commit, which fails.
    consumer.send(Buffer.concat([encodePub(topic, Buffer.from('x'.repeat(100))), encodeRdy(1)]));
    await consumer.waitClosed();
    expect(failed).toBeGreaterThan(0);
    fs.fdatasyncSync = realFdatasync;
    await waitFor(async () => (await channelCounts(broker.httpAddress, topic))?.client_count === 0, 'the consumer dropped');
    const counts = await channelCounts(broker.httpAddress, topic);
    expect({ inFlight: counts?.in_flight_count, depth: counts?.depth }).toEqual({ inFlight: 0, depth: 1 });
    const next = await harness.subscriber(broker.tcpAddress, topic, 'c', 1);
    expect((await next.nextMessage()).body.toString()).toBe('x'.repeat(100));
  });
});

describe('sync mode: fsync failure with an unbuffered publisher', () => {
  it('sends no OK for a PUB whose fsync failed (output_buffer_size -1)', async () => {
    const broker = await harness.start({ memQueueSize: 0, syncEvery: 1 });
    const topic = uniqueName('fsyncok');
    const publisher = await harness.connect(broker.tcpAddress);
    publisher.send(encodeIdentify({ output_buffer_size: -1 }));
    await publisher.nextFrame();
    fs.fdatasyncSync = fdatasyncFails;
    publisher.send(encodePub(topic, Buffer.from('never durable')));
    const answer = await publisher.nextFrame({ timeoutMs: 3000 }).then(
      (frame) => `frame ${frame.type}: ${frame.data.toString()}`,
      (error: Error) => error.message,
    );
    expect(answer).not.toBe('frame 0: OK');
  });
});
