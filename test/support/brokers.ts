/**
 * nsqd instances on port 0 in temp directories, and polling with a deadline, for client tests. The
 * bundled broker by default; real nsqd when NSQD_BIN names its binary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { afterEach } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { startBroker } from '../../broker/nsqd/server.ts';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';
import { NSQD_BIN, startNsqdProcess, type ServerHandle } from './nsq-processes.ts';

function startAny(options: BrokerOptionsInput): Promise<ServerHandle> {
  return NSQD_BIN === undefined ? startBroker(options) : startNsqdProcess(NSQD_BIN, options);
}

export interface TestBroker {
  handle: ServerHandle;
  dataPath: string;
  tcpAddress: string;
  httpAddress: string;
  /** Closes the broker (state persisted) and starts it again on the same ports and data path. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export class BrokerPool {
  private readonly brokers: TestBroker[] = [];
  private readonly dirs: string[] = [];

  async start(options: BrokerOptionsInput = {}): Promise<TestBroker> {
    const dataPath = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-client-'));
    this.dirs.push(dataPath);
    const base = { tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1', ...options };
    const broker: TestBroker = {
      handle: await startAny(base),
      dataPath,
      get tcpAddress() {
        return this.handle.tcpAddress;
      },
      get httpAddress() {
        return this.handle.httpAddress;
      },
      async restart() {
        const { tcpAddress, httpAddress } = this.handle;
        await this.handle.close();
        this.handle = await startAny({ ...base, tcpAddress, httpAddress });
      },
      async stop() {
        await this.handle.close();
      },
    };
    this.brokers.push(broker);
    return broker;
  }

  async closeAll(): Promise<void> {
    for (const b of this.brokers.splice(0)) await b.handle.close();
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}

/** Polls `check` every 10 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let counter = 0;
/** A topic name unique to this test run. */
export function uniqueTopic(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/** A channel's counts and clients, from the broker's /stats; undefined when the channel does not exist. */
export async function channelStats(
  httpAddress: string,
  topic: string,
  channel: string,
): Promise<
  | {
      depth: number;
      in_flight_count: number;
      deferred_count: number;
      message_count: number;
      requeue_count: number;
      timeout_count: number;
      client_count: number;
      clients: Array<{ in_flight_count: number }>;
    }
  | undefined
> {
  const response = await fetch(`http://${httpAddress}/stats?format=json&topic=${topic}&channel=${channel}`);
  const stats = (await response.json()) as { topics: { topic_name: string; channels: { channel_name: string }[] }[] };
  const t = stats.topics.find((x) => x.topic_name === topic);
  return t?.channels.find((c) => c.channel_name === channel) as never;
}

/** Something a test opens and must close. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * The brokers and clients of one test file, released after every test: clients first, newest
 * first, then the brokers. `track(thing)` registers a client and returns it.
 */
export function testResources(): {
  pool: BrokerPool;
  closers: Array<() => Promise<void>>;
  track: <T extends Closable>(thing: T) => T;
} {
  const pool = new BrokerPool();
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await pool.closeAll();
  });
  const track = <T extends Closable>(thing: T): T => {
    closers.push(() => thing.close());
    return thing;
  };
  return { pool, closers, track };
}
