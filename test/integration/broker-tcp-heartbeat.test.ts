/**
 * Heartbeats and the read deadline on the bundled nsqd: `_heartbeat_` at the negotiated interval to
 * every client, a client that answers (or sends any command) stays, a silent one, or one that sends
 * bytes completing no command, is closed after about two intervals without an error frame, and none
 * of it when heartbeats are disabled.
 */
import { describe, expect } from 'vitest';
import { NOP, encodeIdentify, encodePub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import { brokerTest, framesBeforeOk, messagesBeforeBarrier, uniqueName, type BrokerFixture } from './helpers/broker-tcp-fixture.ts';
import type { RawClient } from './helpers/raw-client.ts';

const isHeartbeat = (frame: { type: number; data: Buffer }): boolean =>
  frame.type === FrameType.Response && frame.data.toString() === '_heartbeat_';

/** Waits for `count` heartbeats, answering each with NOP; returns when each arrived (ms since epoch). */
async function heartbeatTimes(client: RawClient, count: number, answer = true): Promise<number[]> {
  const times: number[] = [];
  while (times.length < count) {
    const frame = await client.nextFrame({ heartbeats: true, timeoutMs: 3000 });
    if (!isHeartbeat(frame)) throw new Error(`expected a heartbeat, got type ${frame.type}: ${frame.data.toString()}`);
    times.push(Date.now());
    if (answer) client.send(NOP);
  }
  return times;
}

async function identified(f: BrokerFixture, body: object): Promise<{ client: RawClient; at: number }> {
  const client = await f.connect();
  client.send(encodeIdentify(body));
  await client.expectResponse('OK');
  return { client, at: Date.now() };
}

// Each test waits seconds on the broker's timers and costs little CPU: they wait together.
describe.concurrent('bundled nsqd TCP: heartbeats', () => {
  const it = brokerTest();

  it('sends _heartbeat_ about every heartbeat_interval to a subscriber that answers NOP, and keeps it', async ({ broker: f }) => {
    const topic = uniqueName('hb');
    const client = await f.subscriber(topic, 'ch', 1, { heartbeat_interval: 1000 });
    const start = Date.now();
    const times = await heartbeatTimes(client, 3);
    const gaps = [times[0]! - start, times[1]! - times[0]!, times[2]! - times[1]!];
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(700);
      expect(gap).toBeLessThanOrEqual(1600);
    }
    // Three intervals have passed, more than the two-interval read deadline: the NOPs kept it open.
    expect(client.closed).toBe(false);
    await f.publish(topic, 'still subscribed');
    expect((await client.nextMessage()).body.toString()).toBe('still subscribed');
    expect(await messagesBeforeBarrier(client)).toEqual([]);
  });

  it('sends heartbeats to a producer that never subscribes', async ({ broker: f }) => {
    const { client, at } = await identified(f, { heartbeat_interval: 1000 });
    const [first] = await heartbeatTimes(client, 1);
    expect(first! - at).toBeGreaterThanOrEqual(700);
    expect(first! - at).toBeLessThanOrEqual(1600);
    expect(await framesBeforeOk(client, uniqueName('scratch'))).toBe(0);
  });

  it('closes a silent client after about two intervals, with no error frame', async ({ broker: f }) => {
    const { client, at } = await identified(f, { heartbeat_interval: 1000 });
    await client.waitClosed(5000);
    const elapsed = Date.now() - at;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThanOrEqual(3200);
    // Only heartbeats came before the close.
    const frames = [];
    while (client.pending > 0) frames.push(await client.nextFrame({ heartbeats: true }));
    expect(frames.length).toBeGreaterThanOrEqual(1);
    for (const frame of frames) expect(isHeartbeat(frame)).toBe(true);
  });

  it('closes a client that drips a command a byte at a time: the deadline runs from the last command read', async ({ broker: f }) => {
    const { client, at } = await identified(f, { heartbeat_interval: 1000 });
    // A line that never ends, a byte every 400 ms: each read reset the deadline before.
    const drip = setInterval(() => client.send('P'), 400);
    try {
      await client.waitClosed(5000);
    } finally {
      clearInterval(drip);
    }
    expect(Date.now() - at).toBeLessThanOrEqual(3200);
  });

  it('keeps a client that sends other commands instead of NOP', async ({ broker: f }) => {
    const topic = uniqueName('busy');
    const { client } = await identified(f, { heartbeat_interval: 1000 });
    // Publish on every heartbeat instead of answering it: any command resets the read deadline.
    for (let i = 0; i < 3; i++) {
      await heartbeatTimes(client, 1, false);
      client.send(encodePub(topic, Buffer.from(`m${i}`)));
      await client.expectResponse('OK');
    }
    expect(client.closed).toBe(false);
    expect(await f.topicStats(topic)).toMatchObject({ message_count: 3 });
  });

  it('sends no heartbeats and sets no deadline when heartbeats are disabled', async ({ broker: f }) => {
    const { client, at } = await identified(f, { heartbeat_interval: -1 });
    // Beyond what a 1 s interval would allow; the test's own schedule, not a synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 2300));
    // Past two 1 s intervals, where a read deadline would have closed it (a timer may fire a
    // millisecond early by the wall clock, so the check is on the deadline, not on 2300).
    expect(Date.now() - at).toBeGreaterThan(2000);
    expect(client.pending).toBe(0);
    expect(await framesBeforeOk(client, uniqueName('scratch'))).toBe(0);
    expect(client.closed).toBe(false);
  });
});

describe('bundled nsqd TCP: default heartbeat interval', () => {
  // nsqd's default interval is half its client timeout (60 s → 30 s); a 2 s timeout makes it 1 s.
  const it = brokerTest({ clientTimeoutMs: 2000 });

  it('uses half the client timeout without IDENTIFY, and with heartbeat_interval 0', async ({ broker: f }) => {
    const bare = await f.connect();
    const connectedAt = Date.now();
    const { client: zero } = await identified(f, { heartbeat_interval: 0 });
    const [bareFirst] = await heartbeatTimes(bare, 1);
    const [zeroFirst] = await heartbeatTimes(zero, 1);
    expect(bareFirst! - connectedAt).toBeGreaterThanOrEqual(700);
    expect(bareFirst! - connectedAt).toBeLessThanOrEqual(1600);
    expect(zeroFirst! - connectedAt).toBeLessThanOrEqual(1600);
  });
});
