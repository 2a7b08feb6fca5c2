/**
 * One bundled nsqd per test for the TCP protocol tests: a broker on port 0 in its own temp directory,
 * raw clients that are closed with it, unique names, and /stats read over HTTP with a deadline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'vitest';
import { encodeCommand, encodeMpub, encodePub } from '../../../protocol/commands.ts';
import { FrameType } from '../../../protocol/frames.ts';
import { decodeMessagePayload, type DecodedMessage } from '../../../protocol/message.ts';
import type { BrokerOptionsInput } from '../../../broker/nsqd/options.ts';
import { startBroker, type BrokerHandle } from '../../../broker/nsqd/server.ts';
import { RawClient } from './raw-client.ts';

export interface StatsClient {
  client_id: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
}

export interface StatsChannel {
  channel_name: string;
  depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: StatsClient[] | null;
}

export interface StatsTopic {
  topic_name: string;
  depth: number;
  message_count: number;
  channels: StatsChannel[];
}

export class BrokerFixture {
  private readonly clients: RawClient[] = [];

  private constructor(
    readonly broker: BrokerHandle,
    readonly dataPath: string,
  ) {}

  static async start(options: BrokerOptionsInput = {}): Promise<BrokerFixture> {
    const dataPath = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-tcp-'));
    // Every port picked free, HTTPS's too (its default, 4152, may be another test's or another program's).
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', httpsAddress: '127.0.0.1:0', dataPath, ...options });
    return new BrokerFixture(broker, dataPath);
  }

  get tcpAddress(): string {
    return this.broker.tcpAddress;
  }

  /** A raw connection (magic sent unless `magic: false`), closed at the end of the test. */
  async connect(options: { magic?: boolean } = {}): Promise<RawClient> {
    return this.track(await RawClient.connect(this.tcpAddress, options));
  }

  /** A subscribed connection with the given RDY (after an optional IDENTIFY). */
  async subscriber(topic: string, channel: string, rdy: number, identify?: object): Promise<RawClient> {
    return this.track(await RawClient.subscriber(this.tcpAddress, topic, channel, rdy, identify));
  }

  /** Publishes bodies one PUB at a time over a fresh connection and waits for every OK. */
  async publish(topic: string, ...bodies: string[]): Promise<void> {
    const client = await this.connect();
    for (const body of bodies) client.send(encodePub(topic, Buffer.from(body)));
    for (let i = 0; i < bodies.length; i++) await client.expectResponse('OK');
    client.close();
  }

  async mpublish(topic: string, bodies: string[]): Promise<void> {
    const client = await this.connect();
    client.send(encodeMpub(topic, bodies.map((body) => Buffer.from(body))));
    await client.expectResponse('OK');
    client.close();
  }

  async stats(): Promise<StatsTopic[]> {
    const response = await fetch(`http://${this.broker.httpAddress}/stats?format=json`);
    const body = (await response.json()) as { topics: StatsTopic[] | null };
    return body.topics ?? [];
  }

  async topicStats(topic: string): Promise<StatsTopic | undefined> {
    return (await this.stats()).find((t) => t.topic_name === topic);
  }

  async channelStats(topic: string, channel: string): Promise<StatsChannel | undefined> {
    return (await this.topicStats(topic))?.channels.find((c) => c.channel_name === channel);
  }

  /** Polls /stats until `check` holds for the channel; returns the stats that satisfied it. */
  async waitForChannel(topic: string, channel: string, check: (stats: StatsChannel) => boolean, what: string): Promise<StatsChannel> {
    let last: StatsChannel | undefined;
    await waitFor(async () => {
      last = await this.channelStats(topic, channel);
      return last !== undefined && check(last);
    }, `${what} (last: ${JSON.stringify(last)})`);
    return last!;
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await this.broker.close();
    await rm(this.dataPath, { recursive: true, force: true });
  }

  private track(client: RawClient): RawClient {
    this.clients.push(client);
    return client;
  }
}

/**
 * `test` with a fresh broker per test as its `broker` fixture, closed when the test ends: unlike
 * {@link brokerPerTest}, safe in `describe.concurrent`, for tests that mostly wait on the broker's
 * timers (heartbeats, timeouts) and so can share the time they wait.
 */
export function brokerTest(options: BrokerOptionsInput = {}) {
  return test.extend<{ broker: BrokerFixture }>({
    // The empty pattern is vitest's: it reads a fixture's dependencies from it (none here).
    broker: async ({}, use) => {
      const fixture = await BrokerFixture.start(options);
      try {
        await use(fixture);
      } finally {
        await fixture.close();
      }
    },
  });
}

/**
 * Registers a fresh broker per test; the returned function gives the current test's fixture.
 */
export function brokerPerTest(options: BrokerOptionsInput = {}): () => BrokerFixture {
  let fixture: BrokerFixture | undefined;
  beforeEach(async () => {
    fixture = await BrokerFixture.start(options);
  });
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });
  return () => {
    if (fixture === undefined) throw new Error('no broker: brokerPerTest() must be called at the top of a describe block');
    return fixture;
  };
}

/** Polls `check` every 10 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let counter = 0;
/** A topic or channel name unique to this run (valid for nsqd: letters, digits, `-`). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${counter++}`;
}

/** An id no message can have (nsqd's ids are never zero): FIN of it is a harmless non-fatal error. */
export const UNKNOWN_ID = '0000000000000000';

/**
 * A round trip on a subscribed (or closing) connection: sends `FIN` of an unknown id and returns the
 * messages that arrived before its `E_FIN_FAILED`. Commands are answered in order, so whatever the
 * broker had decided to send before it read the FIN is in this list, and nothing else.
 */
export async function messagesBeforeBarrier(client: RawClient): Promise<DecodedMessage[]> {
  client.send(`FIN ${UNKNOWN_ID}\n`);
  const messages: DecodedMessage[] = [];
  for (;;) {
    const frame = await client.nextFrame();
    if (frame.type === FrameType.Message) {
      messages.push(decodeMessagePayload(frame.data));
      continue;
    }
    const text = frame.data.toString();
    if (frame.type === FrameType.Error && text === `E_FIN_FAILED FIN ${UNKNOWN_ID} failed ID not in flight`) return messages;
    throw new Error(`unexpected frame before the barrier: type ${frame.type}: ${text}`);
  }
}

/**
 * A round trip on a connection in any state: `NOP` has no answer, so a PUB to a scratch topic is
 * used; its OK comes after every frame the broker produced for the commands before it.
 */
export async function framesBeforeOk(client: RawClient, scratchTopic: string): Promise<number> {
  client.send(encodeCommand('PUB', [scratchTopic], Buffer.from('x')));
  let before = 0;
  for (;;) {
    const frame = await client.nextFrame();
    if (frame.type === FrameType.Response && frame.data.toString() === 'OK') return before;
    before++;
  }
}

export function bodyOf(message: DecodedMessage): string {
  return message.body.toString();
}
