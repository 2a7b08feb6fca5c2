/**
 * Sync mode (--mem-queue-size 0 --sync-every 1): a message whose publish was acknowledged is
 * delivered after kill -9 whether it was waiting, in flight, deferred or requeued with a delay,
 * until a consumer finishes it (nsqd loses the last three: nsqio/nsq#1386). The broker runs in a
 * child process killed with SIGKILL and restarted on the same data path.
 */
import { afterAll, describe, expect } from 'vitest';
import { encodeDpub, encodeFin, encodePub, encodeReq } from '../../protocol/commands.ts';
import { killAllChildBrokers, type ChildBroker, type ChildBrokers } from '../support/child-broker.ts';
import { httpRequest, uniqueName, waitFor, type BrokerHarness } from './helpers/broker-harness.ts';
import { harnessTest as it } from './helpers/harness-test.ts';

afterAll(killAllChildBrokers);

const SYNC = { memQueueSize: 0, syncEvery: 1 };

async function post(http: string, path: string, body?: string): Promise<string> {
  const res = await httpRequest(http, 'POST', path, body);
  expect(res.status, `${path}: ${res.text}`).toBe(200);
  return res.text;
}

interface Counts {
  depth: number;
  in_flight_count: number;
  deferred_count: number;
}

async function counts(http: string, topic: string, channel: string): Promise<Counts | undefined> {
  const res = await httpRequest(http, 'GET', `/stats?format=json&topic=${topic}&channel=${channel}`);
  const stats = JSON.parse(res.text) as { topics: Array<{ channels: Array<Counts & { channel_name: string }> }> };
  return stats.topics[0]?.channels.find((c) => c.channel_name === channel);
}

/** Kills the broker with SIGKILL and starts a new one on the same data path. */
async function crashAndRestart(children: ChildBrokers, broker: ChildBroker, dataPath: string): Promise<ChildBroker> {
  await broker.kill();
  return children.start({ dataPath, ...SYNC });
}

async function setup(harness: BrokerHarness, children: ChildBrokers): Promise<{ broker: ChildBroker; dataPath: string; topic: string }> {
  const dataPath = await harness.tempDir();
  const broker = await children.start({ dataPath, ...SYNC });
  const topic = uniqueName('k9');
  await post(broker.http, `/topic/create?topic=${topic}`);
  await post(broker.http, `/channel/create?topic=${topic}&channel=c`);
  return { broker, dataPath, topic };
}

describe.concurrent('sync mode keeps every acknowledged message across kill -9', () => {
  it('a deferred publish (HTTP defer) survives and arrives when due, not before', async ({ harness, children }) => {
    const { broker, dataPath, topic } = await setup(harness, children);
    const publishedAt = Date.now();
    expect(await post(broker.http, `/pub?topic=${topic}&defer=2000`, 'later')).toBe('OK');
    const restarted = await crashAndRestart(children, broker, dataPath);
    // Still deferred, unless the restart took longer than the delay on a loaded machine.
    const after = await counts(restarted.http, topic, 'c');
    expect(after!.deferred_count + after!.depth).toBe(1);
    if (Date.now() < publishedAt + 1900) expect(after!.deferred_count).toBe(1);
    const sub = await harness.subscriber(restarted.tcp, topic, 'c', 1);
    const message = await sub.nextMessage(10_000);
    expect(message.body.toString()).toBe('later');
    expect(Date.now()).toBeGreaterThanOrEqual(publishedAt + 2000 - 5);
  });

  it('a DPUB survives', async ({ harness, children }) => {
    const { broker, dataPath, topic } = await setup(harness, children);
    const pub = await harness.connect(broker.tcp);
    pub.send(encodeDpub(topic, 1500, Buffer.from('later')));
    await pub.expectResponse('OK');
    const restarted = await crashAndRestart(children, broker, dataPath);
    const sub = await harness.subscriber(restarted.tcp, topic, 'c', 1);
    expect((await sub.nextMessage(10_000)).body.toString()).toBe('later');
  });

  it('a message in flight (received, not finished) is delivered again', async ({ harness, children }) => {
    const { broker, dataPath, topic } = await setup(harness, children);
    const sub = await harness.subscriber(broker.tcp, topic, 'c', 1);
    const pub = await harness.connect(broker.tcp);
    pub.send(encodePub(topic, Buffer.from('only')));
    await pub.expectResponse('OK');
    const first = await sub.nextMessage();
    expect(first.body.toString()).toBe('only');
    await waitFor(async () => (await counts(broker.http, topic, 'c'))?.in_flight_count === 1, 'in flight');
    const restarted = await crashAndRestart(children, broker, dataPath);
    const again = await harness.subscriber(restarted.tcp, topic, 'c', 1);
    const redelivered = await again.nextMessage(10_000);
    expect({ body: redelivered.body.toString(), id: redelivered.id }).toEqual({ body: 'only', id: first.id });
  });

  it('a message requeued with a delay survives, still deferred', async ({ harness, children }) => {
    const { broker, dataPath, topic } = await setup(harness, children);
    const sub = await harness.subscriber(broker.tcp, topic, 'c', 1);
    const pub = await harness.connect(broker.tcp);
    pub.send(encodePub(topic, Buffer.from('again')));
    await pub.expectResponse('OK');
    const message = await sub.nextMessage();
    sub.send(encodeReq(message.id, 1500));
    await waitFor(async () => (await counts(broker.http, topic, 'c'))?.deferred_count === 1, 'deferred');
    const restarted = await crashAndRestart(children, broker, dataPath);
    const after = await counts(restarted.http, topic, 'c');
    // Deferred from the journal; the queue record may be delivered again too (at least once).
    expect(after!.deferred_count + after!.depth).toBeGreaterThanOrEqual(1);
    const again = await harness.subscriber(restarted.tcp, topic, 'c', 1);
    expect((await again.nextMessage(10_000)).body.toString()).toBe('again');
  });

  it('a finished message is not delivered again; waiting ones are', async ({ harness, children }) => {
    const { broker, dataPath, topic } = await setup(harness, children);
    const pub = await harness.connect(broker.tcp);
    for (const body of ['a', 'b', 'c']) {
      pub.send(encodePub(topic, Buffer.from(body)));
      await pub.expectResponse('OK');
    }
    const sub = await harness.subscriber(broker.tcp, topic, 'c', 1);
    const a = await sub.nextMessage();
    sub.send(encodeFin(a.id));
    const b = await sub.nextMessage();
    expect(b.body.toString()).toBe('b');
    // FIN of b, then a barrier: its ack is committed by the time the broker answers the NOP's
    // error (anything it writes waits for the commit of what came before).
    sub.send(encodeFin(b.id));
    sub.send('RDY 0\n');
    await sub.nextMessage();
    sub.send('TOUCH 0000000000000000\n');
    await sub.expectError('E_TOUCH_FAILED TOUCH 0000000000000000 failed ID not in flight');
    pub.send(encodePub(topic, Buffer.from('d')));
    await pub.expectResponse('OK');
    const restarted = await crashAndRestart(children, broker, dataPath);
    const again = await harness.subscriber(restarted.tcp, topic, 'c', 10);
    const bodies = [(await again.nextMessage(10_000)).body.toString(), (await again.nextMessage(10_000)).body.toString()];
    expect(bodies).toEqual(['c', 'd']);
  });

  it('messages waiting at a topic with no channel survive, and reach the first channel', async ({ harness, children }) => {
    const dataPath = await harness.tempDir();
    const broker = await children.start({ dataPath, ...SYNC });
    const topic = uniqueName('alone');
    const pub = await harness.connect(broker.tcp);
    for (let i = 0; i < 5; i++) {
      pub.send(encodePub(topic, Buffer.from(`m${i}`)));
      await pub.expectResponse('OK');
    }
    const restarted = await crashAndRestart(children, broker, dataPath);
    const sub = await harness.subscriber(restarted.tcp, topic, 'c', 10);
    const bodies = [];
    for (let i = 0; i < 5; i++) bodies.push((await sub.nextMessage(10_000)).body.toString());
    expect(bodies).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});
