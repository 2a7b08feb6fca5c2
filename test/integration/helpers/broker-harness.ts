/**
 * A per-test harness for the bundled nsqd that can restart brokers on the same data path: brokers on
 * 127.0.0.1 port 0 with a temp data path, raw TCP clients, and plain HTTP requests. Everything it
 * starts is closed and removed by `cleanup()`, which tests call in afterEach.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { MAGIC_V2, NOP, encodeRdy, encodeSub } from '../../../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../../../protocol/frames.ts';
import { decodeMessagePayload, type DecodedMessage } from '../../../protocol/message.ts';
import { startBroker, type BrokerHandle } from '../../../broker/nsqd/server.ts';
import type { BrokerOptionsInput } from '../../../broker/nsqd/options.ts';
import { RawClient } from './raw-client.ts';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

let nameCounter = 0;

/** A topic (or channel) name no other test uses. */
export function uniqueName(prefix = 't'): string {
  nameCounter++;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${nameCounter}`;
}

/** One HTTP request on a fresh connection (no keep-alive, so a broker's close() never waits on it). */
export function httpRequest(
  address: string,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string | number> = {},
): Promise<HttpResponse> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address.slice(0, colon), port: Number(address.slice(colon + 1)), method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, text: data.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `check` every 10 ms until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export class BrokerHarness {
  private readonly brokers = new Set<BrokerHandle>();
  private readonly clients = new Set<{ close(): void }>();
  private readonly dirs: string[] = [];

  /** A fresh temp directory, removed at cleanup. */
  async tempDir(prefix = 'nsqd-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A broker on 127.0.0.1 port 0; a fresh data path unless one is given (to restart on it). */
  async start(options: BrokerOptionsInput = {}): Promise<BrokerHandle> {
    const dataPath = options.dataPath ?? (await this.tempDir());
    const broker = await startBroker({
      tcpAddress: '127.0.0.1:0',
      httpAddress: '127.0.0.1:0',
      broadcastAddress: '127.0.0.1',
      ...options,
      dataPath,
    });
    this.brokers.add(broker);
    return broker;
  }

  /** A clean shutdown now, so a test can restart on the same data path. */
  async stop(broker: BrokerHandle): Promise<void> {
    this.brokers.delete(broker);
    await broker.close();
  }

  async connect(address: string, options?: { magic?: boolean }): Promise<RawClient> {
    return this.track(await RawClient.connect(address, options));
  }

  async subscriber(address: string, topic: string, channel: string, rdy: number, identify?: object): Promise<RawClient> {
    return this.track(await RawClient.subscriber(address, topic, channel, rdy, identify));
  }

  /** A {@link DrainingConsumer}, closed at cleanup. */
  async drainer(address: string, topic: string, channel: string, rdy: number, onMessage: (message: DecodedMessage) => void): Promise<DrainingConsumer> {
    return this.track(await DrainingConsumer.start(address, topic, channel, rdy, onMessage));
  }

  track<T extends { close(): void }>(client: T): T {
    this.clients.add(client);
    return client;
  }

  async cleanup(): Promise<void> {
    for (const client of this.clients) client.close();
    this.clients.clear();
    const brokers = [...this.brokers];
    this.brokers.clear();
    await Promise.all(brokers.map((broker) => broker.close()));
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/**
 * A consumer for deep backlogs: one socket, SUB with a fixed RDY, every message handed to `onMessage`
 * and FINned, the FINs of one TCP chunk written together. Heartbeats are answered with NOP.
 */
export class DrainingConsumer {
  received = 0;
  private readonly errors: string[] = [];
  private subscribed = false;
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {}

  static async start(address: string, topic: string, channel: string, rdy: number, onMessage: (message: DecodedMessage) => void): Promise<DrainingConsumer> {
    const colon = address.lastIndexOf(':');
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const consumer = new DrainingConsumer(socket);
    const fins: string[] = [];
    const decoder = new FrameDecoder((type, data) => {
      if (type === FrameType.Message) {
        const message = decodeMessagePayload(data);
        consumer.received++;
        onMessage(message);
        fins.push(message.id);
      } else if (type === FrameType.Response) {
        const text = data.toString();
        if (text === '_heartbeat_') socket.write(NOP);
        else if (text === 'OK' && !consumer.subscribed) consumer.subscribed = true;
      } else {
        consumer.errors.push(data.toString());
      }
    });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      if (fins.length > 0) {
        socket.write(Buffer.from(`FIN ${fins.join('\nFIN ')}\n`, 'latin1'));
        fins.length = 0;
      }
      consumer.wake();
    });
    socket.on('close', () => {
      consumer.closed = true;
      consumer.wake();
    });
    socket.on('error', () => {});
    socket.write(Buffer.concat([MAGIC_V2, encodeSub(topic, channel), encodeRdy(rdy)]));
    return consumer;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves once `count` messages have arrived; fails on an error frame, a close or the deadline. */
  async waitForCount(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received < count) {
      if (this.errors.length > 0) throw new Error(`consumer got error frames: ${this.errors.join('; ')}`);
      if (this.closed) throw new Error(`connection closed after ${this.received} of ${count} messages`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`only ${this.received} of ${count} messages within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.errors.length > 0) throw new Error(`consumer got error frames: ${this.errors.join('; ')}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
