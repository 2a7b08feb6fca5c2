/**
 * What the bundled nsqd keeps across a restart (fact sheet §2.9, §6): a clean shutdown persists the
 * memory queues, in-flight and deferred messages, the topic/channel list and paused flags; deep
 * backlogs live on disk and drain in order; and after a kill -9 of a broker syncing every message,
 * every acknowledged message survives, a torn tail included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeDpub, encodeFin, encodeMpub, encodePub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import type { DecodedMessage } from '../../protocol/message.ts';
import type { BrokerHandle } from '../../broker/nsqd/server.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';
import type { RawClient } from './helpers/raw-client.ts';
import type { Logger } from 'pino';
import { RecordingLogger } from '../support/fuzz/fake-socket.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_MODULE = pathToFileURL(join(REPO_ROOT, 'broker/nsqd/server.ts')).href;

let harness: BrokerHarness;
const children = new Set<ChildProcess>();
beforeEach(() => {
  harness = new BrokerHarness();
});
afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  await harness.cleanup();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function stats(broker: BrokerHandle, query = ''): Promise<Json> {
  const res = await httpRequest(broker.httpAddress, 'GET', `/stats?format=json${query}`);
  expect(res.status).toBe(200);
  return JSON.parse(res.text);
}

async function topicStats(broker: BrokerHandle, topic: string): Promise<Json> {
  return (await stats(broker, `&topic=${topic}`)).topics?.[0];
}

async function channelStats(broker: BrokerHandle, topic: string, channel: string): Promise<Json> {
  return (await topicStats(broker, topic))?.channels.find((c: Json) => c.channel_name === channel);
}

async function post(broker: BrokerHandle, path: string, body?: string): Promise<void> {
  const res = await httpRequest(broker.httpAddress, 'POST', path, body);
  expect(res.status, `${path}: ${res.text}`).toBe(200);
}

/** Publishes with one PUB per body over one connection, pipelined, and waits for every OK. */
async function publish(broker: BrokerHandle, topic: string, bodies: string[]): Promise<void> {
  const client = await harness.connect(broker.tcpAddress);
  client.send(Buffer.concat(bodies.map((body) => encodePub(topic, Buffer.from(body)))));
  for (let i = 0; i < bodies.length; i++) await client.expectResponse('OK');
  client.close();
}

/** Proves nothing else was delivered so far: a TOUCH of an unknown id answers after any earlier frame. */
async function expectNothingMore(client: RawClient): Promise<void> {
  client.send('TOUCH 0000000000000000\n');
  const frame = await client.nextFrame();
  expect(frame.type, `unexpected frame: ${frame.data.toString()}`).toBe(FrameType.Error);
  expect(frame.data.toString()).toMatch(/^E_TOUCH_FAILED /);
}

async function receive(client: RawClient, count: number): Promise<DecodedMessage[]> {
  const messages: DecodedMessage[] = [];
  for (let i = 0; i < count; i++) messages.push(await client.nextMessage());
  return messages;
}

const bodiesOf = (messages: DecodedMessage[]): string[] => messages.map((m) => m.body.toString());
const seq = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}`);

describe('clean shutdown and restart', () => {
  it('serves every message that was in memory, in flight and deferred; deferred keeps its due time', async () => {
    const broker = await harness.start();
    const dataPath = broker.nsqd.options.dataPath;
    const topic = uniqueName();
    const waiting = uniqueName('waiting');
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 2);
    await publish(broker, topic, seq('m', 5));
    const inFlight = await receive(sub, 2);
    expect(bodiesOf(inFlight)).toEqual(['m-000000', 'm-000001']);
    // A deferred message, due well after the restart.
    const deferMs = 2500;
    const deferredAt = Date.now();
    sub.send(encodeDpub(topic, deferMs, Buffer.from('deferred')));
    await sub.expectResponse('OK');
    const dueAt = deferredAt + deferMs;
    // A topic with no channel keeps its messages itself.
    await publish(broker, waiting, seq('w', 3));
    const before = await channelStats(broker, topic, 'c');
    expect({ depth: before.depth, inFlight: before.in_flight_count, deferred: before.deferred_count }).toEqual({ depth: 3, inFlight: 2, deferred: 1 });

    await harness.stop(broker);
    expect(sub.closed || (await sub.waitClosed().then(() => true))).toBe(true);

    const restarted = await harness.start({ dataPath });
    const after = await channelStats(restarted, topic, 'c');
    // In-flight messages are back in the queue; the deferred one is still deferred.
    expect({ depth: after.depth, inFlight: after.in_flight_count, deferred: after.deferred_count }).toEqual({ depth: 5, inFlight: 0, deferred: 1 });
    expect((await topicStats(restarted, waiting)).depth).toBe(3);

    const again = await harness.subscriber(restarted.tcpAddress, topic, 'c', 10);
    const messages = await receive(again, 5);
    expect(bodiesOf(messages).sort()).toEqual(seq('m', 5));
    // Messages delivered before the restart carry their attempt; the rest are first deliveries.
    const attempts = Object.fromEntries(messages.map((m) => [m.body.toString(), m.attempts]));
    expect(attempts).toEqual({ 'm-000000': 2, 'm-000001': 2, 'm-000002': 1, 'm-000003': 1, 'm-000004': 1 });
    // Same ids as before the restart.
    expect(messages.find((m) => m.body.toString() === 'm-000000')!.id).toBe(inFlight[0]!.id);

    await expectNothingMore(again);
    expect(Date.now()).toBeLessThan(dueAt);
    const deferred = await again.nextMessage(deferMs + 2000);
    expect(Date.now()).toBeGreaterThanOrEqual(dueAt - 1);
    expect(deferred.body.toString()).toBe('deferred');

    const waitingSub = await harness.subscriber(restarted.tcpAddress, waiting, 'first', 10);
    expect(bodiesOf(await receive(waitingSub, 3))).toEqual(seq('w', 3));
  });

  it('keeps the topic and channel list and the paused flags; nsqd.dat has nsqd JSON shape', async () => {
    const broker = await harness.start();
    const dataPath = broker.nsqd.options.dataPath;
    const base = uniqueName();
    const [a, b, eph] = [`${base}_a`, `${base}_b`, `${base}_e#ephemeral`];
    await post(broker, `/topic/create?topic=${a}`);
    await post(broker, `/topic/create?topic=${b}`);
    await post(broker, `/topic/create?topic=${encodeURIComponent(eph)}`);
    await post(broker, `/channel/create?topic=${a}&channel=one`);
    await post(broker, `/channel/create?topic=${a}&channel=two`);
    await post(broker, `/channel/create?topic=${a}&channel=${encodeURIComponent('gone#ephemeral')}`);
    await post(broker, `/topic/pause?topic=${b}`);
    await post(broker, `/channel/pause?topic=${a}&channel=two`);

    // Pausing writes nsqd.dat at once, not only at exit.
    const live = JSON.parse(readFileSync(join(dataPath, 'nsqd.dat'), 'utf8'));
    expect(live.topics.find((t: Json) => t.name === b).paused).toBe(true);

    await harness.stop(broker);
    const text = readFileSync(join(dataPath, 'nsqd.dat'), 'utf8');
    const saved = JSON.parse(text);
    expect(Object.keys(saved)).toEqual(['topics', 'version']);
    expect(saved.version).toBe('1.3.0');
    const byName = new Map(saved.topics.map((t: Json) => [t.name, t]));
    // Ephemeral topics and channels are never written.
    expect([...byName.keys()].sort()).toEqual([a, b]);
    for (const t of saved.topics) expect(Object.keys(t)).toEqual(['name', 'paused', 'channels']);
    expect(byName.get(a)).toEqual({ name: a, paused: false, channels: [{ name: 'one', paused: false }, { name: 'two', paused: true }] });
    expect(byName.get(b)).toEqual({ name: b, paused: true, channels: [] });
    const { mode } = statSync(join(dataPath, 'nsqd.dat'));
    expect(mode & 0o777).toBe(0o600);

    const restarted = await harness.start({ dataPath });
    const all = await stats(restarted);
    const shape = all.topics.map((t: Json) => ({ name: t.topic_name, paused: t.paused, channels: t.channels.map((c: Json) => [c.channel_name, c.paused]) }));
    expect(shape).toEqual([
      { name: a, paused: false, channels: [['one', false], ['two', true]] },
      { name: b, paused: true, channels: [] },
    ]);
    // Still paused: a message published to b stays at the topic.
    await publish(restarted, b, ['held']);
    expect((await topicStats(restarted, b)).depth).toBe(1);
  });

  it('writes nsqd.dat at startup, a fresh data path included', async () => {
    const broker = await harness.start();
    expect(readFileSync(join(broker.nsqd.options.dataPath, 'nsqd.dat'), 'utf8')).toBe('{"topics":[],"version":"1.3.0"}');
  });

  it('reads an nsqd.dat written by nsqd itself (null channels and topics)', async () => {
    const dataPath = await harness.tempDir();
    const topic = uniqueName();
    writeFileSync(
      join(dataPath, 'nsqd.dat'),
      JSON.stringify({ topics: [{ channels: null, name: topic, paused: true }, { channels: [{ name: 'c', paused: true }], name: `${topic}_2`, paused: false }], version: '1.3.0' }),
    );
    const broker = await harness.start({ dataPath });
    const all = await stats(broker);
    expect(all.topics.map((t: Json) => [t.topic_name, t.paused, t.channels.map((c: Json) => [c.channel_name, c.paused])])).toEqual([
      [topic, true, []],
      [`${topic}_2`, false, [['c', true]]],
    ]);
  });
});

describe('disk backlog', () => {
  it('mem-queue-size 0 keeps every message on disk', async () => {
    const broker = await harness.start({ memQueueSize: 0 });
    const topic = uniqueName();
    const alone = uniqueName('alone');
    await post(broker, `/topic/create?topic=${topic}`);
    await post(broker, `/channel/create?topic=${topic}&channel=c`);
    await publish(broker, topic, seq('d', 7));
    await publish(broker, alone, seq('a', 4));
    const channel = await channelStats(broker, topic, 'c');
    expect({ depth: channel.depth, backend: channel.backend_depth }).toEqual({ depth: 7, backend: 7 });
    const lone = await topicStats(broker, alone);
    expect({ depth: lone.depth, backend: lone.backend_depth }).toEqual({ depth: 4, backend: 4 });
    const files = readdirSync(broker.nsqd.options.dataPath);
    expect(files).toContain(`${topic}:c.diskqueue.000000.dat`);
    expect(files).toContain(`${alone}.diskqueue.000000.dat`);

    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 100);
    expect(bodiesOf(await receive(sub, 7))).toEqual(seq('d', 7));
    const loneSub = await harness.subscriber(broker.tcpAddress, alone, 'c', 100);
    expect(bodiesOf(await receive(loneSub, 4))).toEqual(seq('a', 4));
  });

  it('drains a backlog far deeper than mem-queue-size completely and in order per channel, rolling files', async () => {
    // Past mem-queue-size an MPUB writes its records straight from the frame (Topic.publishAll):
    // every copy must still carry the id, timestamp and attempts a message object would have.
    const total = 20_000;
    const publishedFrom = Date.now();
    const broker = await harness.start({ memQueueSize: 100, maxBytesPerFile: 64 * 1024 });
    const dataPath = broker.nsqd.options.dataPath;
    const topic = uniqueName();
    const channels = ['first', 'second'];
    await post(broker, `/topic/create?topic=${topic}`);
    for (const channel of channels) await post(broker, `/channel/create?topic=${topic}&channel=${channel}`);
    const producer = await harness.connect(broker.tcpAddress);
    const batch = 500;
    for (let start = 0; start < total; start += batch) {
      const bodies = [];
      for (let i = start; i < start + batch; i++) bodies.push(Buffer.from(`n${i}`));
      producer.send(encodeMpub(topic, bodies));
    }
    for (let i = 0; i < total / batch; i++) await producer.expectResponse('OK');

    const backlog = await channelStats(broker, topic, 'first');
    expect(backlog.depth).toBe(total);
    expect(backlog.backend_depth).toBe(total - 100);
    const files = readdirSync(dataPath).filter((f) => f.startsWith(`${topic}:first.diskqueue.`) && f.endsWith('.dat') && !f.includes('meta'));
    expect(files.length).toBeGreaterThan(2);

    const publishedTo = Date.now();
    const next = new Map(channels.map((c) => [c, 0]));
    const ids = new Map(channels.map((c) => [c, [] as string[]]));
    const outOfOrder: string[] = [];
    const badHeaders: string[] = [];
    const consumers = await Promise.all(
      channels.map((channel) =>
        harness.drainer(broker.tcpAddress, topic, channel, 2500, (message) => {
          const expected = next.get(channel)!;
          const got = message.body.toString();
          if (got !== `n${expected}` && outOfOrder.length < 5) outOfOrder.push(`${channel}: expected n${expected}, got ${got}`);
          next.set(channel, expected + 1);
          ids.get(channel)!.push(message.id);
          const ms = message.timestampNs / 1e6;
          // nowNs may run up to 5 ms from Date.now() before it follows it (protocol/message.ts).
          if ((message.attempts !== 1 || ms < publishedFrom - 5 || ms > publishedTo + 5) && badHeaders.length < 5) {
            badHeaders.push(`${channel} ${got}: attempts ${message.attempts}, timestamp ${ms} ms`);
          }
        }),
      ),
    );
    await Promise.all(consumers.map((consumer) => consumer.waitForCount(total, 20_000)));
    expect(outOfOrder).toEqual([]);
    expect(badHeaders).toEqual([]);
    // Each channel's copy has the message's one id; ids increase in publish order.
    const [firstIds, secondIds] = channels.map((channel) => ids.get(channel)!);
    expect(secondIds).toEqual(firstIds);
    expect(firstIds!.every((id, i) => /^[0-9a-f]{16}$/.test(id) && (i === 0 || id > firstIds![i - 1]!))).toBe(true);
    for (const channel of channels) {
      const drained = await waitFor(async () => {
        const c = await channelStats(broker, topic, channel);
        return c.in_flight_count === 0 ? c : undefined;
      }, `${channel} to finish`);
      expect({ depth: drained.depth, backend: drained.backend_depth, inFlight: drained.in_flight_count }).toEqual({ depth: 0, backend: 0, inFlight: 0 });
    }
    // Finished files are deleted as they are read.
    const left = readdirSync(dataPath).filter((f) => f.startsWith(`${topic}:first.diskqueue.0`));
    expect(left.length).toBeLessThanOrEqual(1);
  });

  it('an MPUB to a channel behind (on disk) and a caught-up one: both get every message, with one id each', async () => {
    // 'behind' has no consumer: past mem-queue-size its new messages go to disk. 'live' takes every
    // message at once (RDY above the total), so nothing waits there. The write-through is for topics
    // whose channels are all behind; this one mixes the two states (Topic.publishAll).
    const total = 1000;
    const broker = await harness.start({ memQueueSize: 100 });
    const topic = uniqueName();
    await post(broker, `/topic/create?topic=${topic}`);
    await post(broker, `/channel/create?topic=${topic}&channel=behind`);
    const live: DecodedMessage[] = [];
    const liveConsumer = await harness.drainer(broker.tcpAddress, topic, 'live', 2500, (message) => live.push(message));
    const producer = await harness.connect(broker.tcpAddress);
    for (let start = 0; start < total; start += 200) {
      producer.send(encodeMpub(topic, Array.from({ length: 200 }, (_, i) => Buffer.from(`m${start + i}`))));
      await producer.expectResponse('OK');
    }
    await liveConsumer.waitForCount(total, 10_000);
    expect((await channelStats(broker, topic, 'behind')).backend_depth).toBe(total - 100);

    const behind: DecodedMessage[] = [];
    const behindConsumer = await harness.drainer(broker.tcpAddress, topic, 'behind', 2500, (message) => behind.push(message));
    await behindConsumer.waitForCount(total, 10_000);
    const expected = Array.from({ length: total }, (_, i) => `m${i}`);
    expect(live.map((m) => m.body.toString())).toEqual(expected);
    expect(behind.map((m) => m.body.toString())).toEqual(expected);
    expect(behind.map((m) => m.id)).toEqual(live.map((m) => m.id));
    expect(new Set([...live, ...behind].map((m) => `${m.attempts} ${m.timestampNs > 0}`))).toEqual(new Set(['1 true']));
  });

  it('a deep backlog survives a clean restart: every message delivered once', async () => {
    const total = 5000;
    const broker = await harness.start({ memQueueSize: 50, maxBytesPerFile: 32 * 1024 });
    const dataPath = broker.nsqd.options.dataPath;
    const topic = uniqueName();
    await post(broker, `/topic/create?topic=${topic}`);
    await post(broker, `/channel/create?topic=${topic}&channel=c`);
    const producer = await harness.connect(broker.tcpAddress);
    for (let start = 0; start < total; start += 250) {
      producer.send(encodeMpub(topic, Array.from({ length: 250 }, (_, i) => Buffer.from(`n${start + i}`))));
    }
    for (let i = 0; i < total / 250; i++) await producer.expectResponse('OK');
    await harness.stop(broker);

    const restarted = await harness.start({ dataPath, memQueueSize: 50, maxBytesPerFile: 32 * 1024 });
    expect((await channelStats(restarted, topic, 'c')).depth).toBe(total);
    const seen = new Uint8Array(total);
    const consumer = await harness.drainer(restarted.tcpAddress, topic, 'c', 1000, (message) => {
      seen[Number(message.body.toString().slice(1))]!++;
    });
    await consumer.waitForCount(total, 20_000);
    expect(seen.every((count) => count === 1)).toBe(true);
  });
});

/** The child broker's script: started with mem-queue-size 0 and sync-every 1, it prints its addresses. */
function childScript(): string {
  return [
    `import { startBroker } from ${JSON.stringify(SERVER_MODULE)};`,
    `const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1',`,
    `  dataPath: process.argv[2], memQueueSize: 0, syncEvery: 1 });`,
    `process.stdout.write(JSON.stringify({ tcp: broker.tcpAddress, http: broker.httpAddress }) + '\\n');`,
  ].join('\n');
}

async function startChildBroker(dataPath: string, scriptDir: string): Promise<{ child: ChildProcess; tcp: string; http: string }> {
  const script = join(scriptDir, 'child-broker.mjs');
  writeFileSync(script, childScript());
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataPath], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child broker did not start: ${stderr}`)), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`child broker exited with ${code}: ${stderr}`)));
  });
  lines.close();
  const { tcp, http } = JSON.parse(first) as { tcp: string; http: string };
  return { child, tcp, http };
}

/**
 * Publishes `body(i)` with PUBs pipelined `window` deep on one connection, and SIGKILLs the child as
 * soon as `acknowledged` OKs have arrived. Returns how many were sent (some may be accepted unacknowledged).
 */
async function publishThenKill(child: ChildProcess, client: RawClient, topic: string, acknowledged: number, body: (i: number) => string, window = 8): Promise<number> {
  let sent = 0;
  for (; sent < window; sent++) client.send(encodePub(topic, Buffer.from(body(sent))));
  for (let ok = 0; ok < acknowledged; ok++) {
    await client.expectResponse('OK');
    if (ok + 1 < acknowledged) client.send(encodePub(topic, Buffer.from(body(sent++))));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
  return sent;
}

describe('kill -9', () => {
  const N = 150;
  const body = (prefix: string) => (i: number) => `${prefix}-${String(i).padStart(6, '0')}`;

  async function killedBroker(): Promise<{ dataPath: string; topic: string; lone: string; sentTopic: number; sentLone: number }> {
    const dataPath = await harness.tempDir();
    const scriptDir = await harness.tempDir('nsqd-child-');
    const topic = uniqueName();
    const lone = uniqueName('lone');
    const { child, tcp, http } = await startChildBroker(dataPath, scriptDir);
    // One topic with a channel (messages land in the channel's queue), one without (the topic's queue).
    expect((await httpRequest(http, 'POST', `/topic/create?topic=${topic}`)).status).toBe(200);
    expect((await httpRequest(http, 'POST', `/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
    const client = await harness.connect(tcp);
    const lonely = await harness.connect(tcp);
    // The lone topic first (the broker stays up), then the channel's topic up to the kill.
    let sentLone = 0;
    for (; sentLone < N; sentLone++) lonely.send(encodePub(lone, Buffer.from(body('l')(sentLone))));
    for (let i = 0; i < N; i++) await lonely.expectResponse('OK');
    const sentTopic = await publishThenKill(child, client, topic, N, body('m'));
    return { dataPath, topic, lone, sentTopic, sentLone };
  }

  /** Every acknowledged message, nothing that was never sent, nothing twice, nothing garbled. */
  function checkDelivered(bodies: string[], prefix: string, acknowledged: number, sent: number): void {
    const expected = new Set(Array.from({ length: sent }, (_, i) => body(prefix)(i)));
    const counts = new Map<string, number>();
    for (const b of bodies) counts.set(b, (counts.get(b) ?? 0) + 1);
    for (const [b, count] of counts) {
      expect(expected.has(b), `unexpected body ${JSON.stringify(b)}`).toBe(true);
      expect(count, `${b} delivered ${count} times`).toBe(1);
    }
    for (let i = 0; i < acknowledged; i++) expect(counts.has(body(prefix)(i)), `${body(prefix)(i)} lost`).toBe(true);
  }

  async function drainAll(broker: BrokerHandle, topic: string): Promise<string[]> {
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 1000);
    const bodies: string[] = [];
    // Deliver until a barrier shows nothing more is coming.
    for (;;) {
      sub.send('TOUCH 0000000000000000\n');
      for (;;) {
        const frame = await sub.nextFrame();
        if (frame.type === FrameType.Message) {
          bodies.push(frame.data.subarray(26).toString());
          sub.send(`FIN ${frame.data.toString('latin1', 10, 26)}\n`);
          continue;
        }
        expect(frame.data.toString()).toMatch(/^E_TOUCH_FAILED /);
        break;
      }
      const c = await channelStats(broker, topic, 'c');
      if (c.depth === 0 && c.in_flight_count === 0) {
        sub.close();
        return bodies;
      }
    }
  }

  it('a broker with mem-queue-size 0 and sync-every 1 loses no acknowledged message', async () => {
    const { dataPath, topic, lone, sentTopic, sentLone } = await killedBroker();
    const broker = await harness.start({ dataPath });
    checkDelivered(await drainAll(broker, topic), 'm', N, sentTopic);
    checkDelivered(await drainAll(broker, lone), 'l', N, sentLone);
  });

  it('a torn record at the tail of the queue files is cut off; the whole messages are delivered', async () => {
    const { dataPath, topic, lone, sentTopic, sentLone } = await killedBroker();
    // Half a record: a length word promising 60 bytes, and 20 of them.
    const torn = Buffer.alloc(24, 0x7a);
    torn.writeInt32BE(60, 0);
    const wholeSizes = new Map<string, number>();
    for (const queue of [`${topic}:c`, lone]) {
      const files = readdirSync(dataPath)
        .filter((f) => f.startsWith(`${queue}.diskqueue.`) && /\.\d{6}\.dat$/.test(f))
        .sort();
      expect(files.length, `${queue} has data files`).toBeGreaterThan(0);
      const file = join(dataPath, files[files.length - 1]!);
      wholeSizes.set(file, statSync(file).size);
      appendFileSync(file, torn);
    }
    const broker = await harness.start({ dataPath });
    // Recovery cut each file back to its last whole record.
    for (const [file, size] of wholeSizes) expect(statSync(file).size, file).toBe(size);
    checkDelivered(await drainAll(broker, topic), 'm', N, sentTopic);
    checkDelivered(await drainAll(broker, lone), 'l', N, sentLone);
    // The queues go on working after the cut.
    await publish(broker, topic, ['after']);
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 1);
    expect((await sub.nextMessage()).body.toString()).toBe('after');
  });
});

describe('disk write failure', () => {
  it('sets health NOK (ping 500, stats health), refuses publishes as nsqd does, and recovers', async () => {
    // The next data file of the topic's queue is a directory: the write that rolls into it fails.
    const broker = await harness.start({ memQueueSize: 0, syncEvery: 1, maxBytesPerFile: 200 });
    const dataPath = broker.nsqd.options.dataPath;
    const topic = uniqueName();
    const blocker = join(dataPath, `${topic}.diskqueue.000001.dat`);
    const client = await harness.connect(broker.tcpAddress);
    // Records of 4 + 26 + 60 bytes: two fit in the first file, the third rolls.
    const body = (i: number): Buffer => Buffer.from(String(i).padStart(60, '0'));
    for (let i = 0; i < 2; i++) {
      client.send(encodePub(topic, body(i)));
      await client.expectResponse('OK');
      // Once the queue is open, the next data file is made a directory.
      if (i === 0) mkdirSync(blocker);
    }
    client.send(encodePub(topic, body(2)));
    const frame = await client.nextFrame();
    expect(frame.type).toBe(FrameType.Error);
    expect(frame.data.toString()).toMatch(/^E_PUB_FAILED PUB failed /);
    await client.waitClosed();

    const ping = await httpRequest(broker.httpAddress, 'GET', '/ping');
    expect(ping.status).toBe(500);
    expect(ping.text).toMatch(/^NOK - /);
    expect((await stats(broker)).health).toMatch(/^NOK - /);
    const viaHttp = await httpRequest(broker.httpAddress, 'POST', `/pub?topic=${topic}`, body(3));
    expect({ status: viaHttp.status, text: viaHttp.text }).toEqual({ status: 503, text: '{"message":"EXITING"}' });

    // The disk is writable again: the next publish succeeds and health is OK.
    rmdirSync(blocker);
    const again = await harness.connect(broker.tcpAddress);
    again.send(encodePub(topic, body(4)));
    await again.expectResponse('OK');
    expect((await httpRequest(broker.httpAddress, 'GET', '/ping')).text).toBe('OK');
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 10);
    expect(bodiesOf(await receive(sub, 3)).map(Number)).toEqual([0, 1, 4]);
    await expectNothingMore(sub);
  });
});

describe('disk write failure inside the broker', () => {
  const body = (i: number): string => String(i).padStart(60, '0');

  it('a timed-out message whose requeue cannot reach the disk is kept, and the broker stays up', async () => {
    const broker = await harness.start({ memQueueSize: 0, syncEvery: 1, maxBytesPerFile: 200 });
    const dataPath = broker.nsqd.options.dataPath;
    const topic = uniqueName();
    await post(broker, `/topic/create?topic=${topic}`);
    await post(broker, `/channel/create?topic=${topic}&channel=c`);
    // Two records of 90 bytes fill the channel's first file; the requeue must roll into the next.
    await publish(broker, topic, [body(0), body(1)]);
    mkdirSync(join(dataPath, `${topic}:c.diskqueue.000001.dat`));
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 1, { msg_timeout: 1000 });
    const first = await sub.nextMessage();
    expect(first.body.toString()).toBe(body(0));
    // Not FINned: the timeout requeues it to disk, which fails; it comes back from memory all the same.
    const again = await sub.nextMessage(4000);
    expect({ body: again.body.toString(), attempts: again.attempts }).toEqual({ body: body(0), attempts: 2 });
    sub.send(encodeFin(again.id));
    const second = await sub.nextMessage();
    expect(second.body.toString()).toBe(body(1));
    sub.send(encodeFin(second.id));
    expect((await channelStats(broker, topic, 'c')).timeout_count).toBe(1);
    expect(broker.nsqd.health).toMatch(/^NOK - /);
    expect((await httpRequest(broker.httpAddress, 'GET', '/ping')).status).toBe(500);
  });

  it('an MPUB past mem-queue-size whose disk writes fail keeps every message in memory; all are delivered', async () => {
    // Records of 90 bytes: two fill the channel's first file, then its next file cannot be made.
    // The MPUB writes its records straight to the disk queue (Topic.publishAll); once the write
    // buffer is full and cannot be written, each message is kept as a message object in memory,
    // after one write attempt (one error line) each.
    const logger = new RecordingLogger();
    const broker = await harness.start({ memQueueSize: 0, maxBytesPerFile: 200, logger: logger as unknown as Logger });
    const dataPath = broker.nsqd.options.dataPath;
    const topic = uniqueName();
    await post(broker, `/topic/create?topic=${topic}`);
    await post(broker, `/channel/create?topic=${topic}&channel=c`);
    await publish(broker, topic, [body(0), body(1)]);
    const blocker = join(dataPath, `${topic}:c.diskqueue.000001.dat`);
    mkdirSync(blocker);
    const total = 4000; // past the 256 KiB write buffer
    const producer = await harness.connect(broker.tcpAddress);
    producer.send(encodeMpub(topic, Array.from({ length: total - 2 }, (_, i) => Buffer.from(body(i + 2)))));
    await producer.expectResponse('OK');
    expect(broker.nsqd.health).toMatch(/^NOK - /);
    expect((await channelStats(broker, topic, 'c')).depth).toBe(total);
    const unhealthyLines = logger.errors.filter((line) => line.msg === 'broker unhealthy').length;
    expect(unhealthyLines).toBeGreaterThan(0);
    expect(unhealthyLines).toBeLessThanOrEqual(total);

    rmdirSync(blocker);
    const seen = new Set<string>();
    const consumer = await harness.drainer(broker.tcpAddress, topic, 'c', 500, (message) => seen.add(message.body.toString()));
    await consumer.waitForCount(total, 20_000);
    expect(seen.size).toBe(total);
    expect([...seen].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('a shutdown that cannot write one queue still persists the others and nsqd.dat', async () => {
    const broker = await harness.start({ memQueueSize: 10, maxBytesPerFile: 200 });
    const dataPath = broker.nsqd.options.dataPath;
    const [broken, fine] = [uniqueName('broken'), uniqueName('fine')];
    // Both topics hold two messages in memory; the broken one's files cannot be created.
    await publish(broker, broken, [body(0), body(1)]);
    await publish(broker, fine, [body(0), body(1)]);
    mkdirSync(join(dataPath, `${broken}.diskqueue.000000.dat`));
    await harness.stop(broker);
    rmdirSync(join(dataPath, `${broken}.diskqueue.000000.dat`));

    const restarted = await harness.start({ dataPath });
    expect((await topicStats(restarted, fine)).depth).toBe(2);
    expect((await topicStats(restarted, broken)).depth).toBe(0);
  });
});
