/**
 * Robustness: seeded random and mutated protocol V2 traffic over many TCP connections, and random
 * HTTP requests, while a well-behaved producer publishes. Afterwards the broker still serves a normal
 * publish and consume, every acknowledged message is delivered, no handler failed (no 500), every
 * connection is gone from the broker, and heap use has not grown without bound.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MAGIC_V2, encodeDpub, encodeMpub, encodePub } from '../../protocol/commands.ts';
import type { BrokerHandle } from '../../broker/nsqd/server.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';
import { RawClient } from './helpers/raw-client.ts';
import { seededRandom } from '../support/prng.ts';
import { Fuzz, command, randomHttpRequest } from '../support/fuzz/corpus-broker.ts';

let harness: BrokerHarness;
beforeEach(() => {
  harness = new BrokerHarness();
});
afterEach(async () => {
  await harness.cleanup();
});

const rng = seededRandom;

/** A command with a few bytes flipped, cut short, or with random bytes spliced in. */
function mutate(fuzz: Fuzz, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  switch (fuzz.int(3)) {
    case 0:
      for (let i = 0, n = 1 + fuzz.int(3); i < n && out.length > 0; i++) out[fuzz.int(out.length)]! ^= 1 << fuzz.int(8);
      return out;
    case 1:
      return out.subarray(0, fuzz.int(out.length + 1));
    default: {
      const at = fuzz.int(out.length + 1);
      return Buffer.concat([out.subarray(0, at), fuzz.bytes(8), out.subarray(at)]);
    }
  }
}

/** One fuzz connection: magic (usually), a stream of commands in random chunks, then a half close. */
async function fuzzConnection(address: string, fuzz: Fuzz): Promise<void> {
  const colon = address.lastIndexOf(':');
  const socket: Socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  const parts: Buffer[] = [fuzz.chance(0.9) ? MAGIC_V2 : fuzz.chance(0.5) ? Buffer.from('  V1') : fuzz.bytes(6)];
  for (let i = 0, n = 1 + fuzz.int(25); i < n; i++) {
    const cmd = command(fuzz);
    parts.push(fuzz.chance(0.25) ? mutate(fuzz, cmd) : cmd);
  }
  const stream = Buffer.concat(parts);
  for (let at = 0; at < stream.length && !socket.destroyed; ) {
    const size = fuzz.chance(0.3) ? 1 + fuzz.int(4) : 1 + fuzz.int(4096);
    socket.write(stream.subarray(at, at + size));
    at += size;
    if (fuzz.chance(0.2)) await new Promise((resolve) => setImmediate(resolve));
  }
  if (fuzz.chance(0.2)) socket.destroy();
  else socket.end();
  const timer = setTimeout(() => socket.destroy(), 3000);
  await closed;
  clearTimeout(timer);
}

async function fuzzHttp(broker: BrokerHandle, fuzz: Fuzz, statuses: Map<number, number>, failures: string[]): Promise<void> {
  const { method, path, body, chunked } = randomHttpRequest(fuzz);
  const headers: Record<string, string | number> = chunked ? { 'Transfer-Encoding': 'chunked' } : {};
  const res = await httpRequest(broker.httpAddress, method, path, body, headers);
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (![200, 301, 307, 308, 400, 404, 405, 413].includes(res.status)) failures.push(`${method} ${path} → ${res.status} ${res.text}`);
}

/** Raw bytes at the HTTP port: the HTTP parser must refuse them without disturbing anyone. */
async function fuzzRawHttp(address: string, fuzz: Fuzz): Promise<void> {
  const colon = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const request = fuzz.chance(0.5)
    ? Buffer.from(`POST /pub?topic=fz_a HTTP/1.1\r\nHost: x\r\nContent-Length: ${fuzz.pick(['-1', 'abc', '99999999999999', '5'])}\r\n\r\nhi`)
    : fuzz.bytes(300);
  socket.end(request);
  const timer = setTimeout(() => socket.destroy(), 3000);
  await closed;
  clearTimeout(timer);
}

/** Ledger bodies are `ledger-<n>`; per-number tallies keep the test's own memory flat. */
const LEDGER_CAPACITY = 1 << 16;

/** A cooperating producer publishing the ledger topic by every route; tallies each acknowledged body. */
class LedgerProducer {
  readonly acknowledged = new Uint8Array(LEDGER_CAPACITY);
  acknowledgedCount = 0;
  sent = 0;
  constructor(
    private readonly broker: BrokerHandle,
    private readonly topic: string,
  ) {}

  private next(): number {
    return this.sent++;
  }

  private ack(...numbers: number[]): void {
    for (const n of numbers) this.acknowledged[n] = 1;
    this.acknowledgedCount += numbers.length;
  }

  async round(fuzz: Fuzz): Promise<void> {
    const body = (n: number): Buffer => Buffer.from(`ledger-${n}`);
    const client = await RawClient.connect(this.broker.tcpAddress);
    try {
      const single = this.next();
      const deferred = this.next();
      const many = [this.next(), this.next(), this.next()];
      client.send(encodePub(this.topic, body(single)));
      client.send(encodeDpub(this.topic, fuzz.int(50), body(deferred)));
      client.send(encodeMpub(this.topic, many.map(body)));
      for (let i = 0; i < 3; i++) await client.expectResponse('OK');
      this.ack(single, deferred, ...many);
    } finally {
      client.close();
    }
    const viaHttp = this.next();
    const res = await httpRequest(this.broker.httpAddress, 'POST', `/pub?topic=${this.topic}`, body(viaHttp));
    expect(res.text).toBe('OK');
    this.ack(viaHttp);
    const lines = [this.next(), this.next()];
    const mres = await httpRequest(this.broker.httpAddress, 'POST', `/mpub?topic=${this.topic}`, lines.map((n) => `ledger-${n}`).join('\n'));
    expect(mres.text).toBe('OK');
    this.ack(...lines);
  }
}

/** `gc()` when it can be exposed at run time; undefined otherwise. */
function exposeGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Producers plus subscribers the broker still lists (the ledger's audit consumer is one). */
async function openClients(broker: BrokerHandle): Promise<number> {
  const res = await httpRequest(broker.httpAddress, 'GET', '/stats?format=json');
  const stats = JSON.parse(res.text) as { producers: unknown[] | null; topics: Array<{ channels: Array<{ client_count: number }> }> };
  let count = stats.producers?.length ?? 0;
  for (const topic of stats.topics) for (const channel of topic.channels) count += channel.client_count;
  return count;
}

/**
 * Heap in use once every fuzz client has left and every topic but the ledger is deleted: messages
 * waiting in fuzz topics are legitimate use, not a leak (mutated commands invent topic names too).
 */
async function heapUsedAfterGc(broker: BrokerHandle, keep: string, gc: (() => void) | undefined): Promise<number> {
  await waitFor(async () => (await openClients(broker)) === 1, 'fuzz connections to be released');
  for (const topic of [...broker.nsqd.topics.keys()]) {
    if (topic === keep) continue;
    const res = await httpRequest(broker.httpAddress, 'POST', `/topic/delete?topic=${encodeURIComponent(topic)}`);
    expect(res.status).toBe(200);
  }
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

it('survives seeded random TCP and HTTP traffic: still serves, loses nothing, frees what it used', { timeout: 60_000 }, async () => {
  const seed = Number(process.env.FUZZ_SEED ?? 0x5eed);
  const rounds = Number(process.env.FUZZ_ROUNDS ?? 3);
  const fuzz = new Fuzz(rng(seed));
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const broker = await harness.start({ logger: pino({ level: 'warn' }, discard), maxMsgSize: 65_536, maxBodySize: 262_144, msgTimeoutMs: 2000 });
  const ledger = uniqueName('ledger');
  expect((await httpRequest(broker.httpAddress, 'POST', `/topic/create?topic=${ledger}`)).status).toBe(200);
  expect((await httpRequest(broker.httpAddress, 'POST', `/channel/create?topic=${ledger}&channel=audit`)).status).toBe(200);
  const producer = new LedgerProducer(broker, ledger);
  // The ledger is audited as it goes, so it holds no backlog when the heap is measured.
  const received = new Uint8Array(LEDGER_CAPACITY);
  let strays = 0;
  const audit = await harness.drainer(broker.tcpAddress, ledger, 'audit', 500, (message) => {
    const text = message.body.toString();
    const n = Number(text.slice('ledger-'.length));
    if (!text.startsWith('ledger-') || !Number.isInteger(n) || n >= producer.sent) strays++;
    else received[n]!++;
  });
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  const gc = exposeGc();

  const round = async (connections: number): Promise<void> => {
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < connections) {
        started++;
        const kind = fuzz.int(10);
        if (kind < 6) await fuzzConnection(broker.tcpAddress, fuzz);
        else if (kind < 9) await fuzzHttp(broker, fuzz, statuses, failures);
        else await fuzzRawHttp(broker.httpAddress, fuzz);
        if (fuzz.chance(0.05)) await producer.round(fuzz);
      }
    };
    // Sixteen connections at a time.
    await Promise.all(Array.from({ length: 16 }, worker));
  };

  // A warm-up round fills the broker's caches and pools; the heap is measured after it and after more rounds.
  const t0 = Date.now();
  await round(400);
  const heapBefore = await heapUsedAfterGc(broker, ledger, gc);
  for (let i = 0; i < rounds; i++) await round(400);
  const heapAfter = await heapUsedAfterGc(broker, ledger, gc);
  const fuzzMs = Date.now() - t0;

  expect(failures, `seed ${seed}`).toEqual([]);
  expect(broker.nsqd.health).toBe('OK');
  // Every fuzz connection is gone (checked before each heap reading), and so are the fuzz topics:
  // what remains is the ledger and its audit consumer, untouched by the fuzz.
  const stats = JSON.parse((await httpRequest(broker.httpAddress, 'GET', '/stats?format=json')).text);
  expect(stats.topics.map((t: { topic_name: string }) => t.topic_name)).toEqual([ledger]);
  expect(stats.topics[0].channels.map((c: { client_count: number }) => c.client_count)).toEqual([1]);

  // A normal publish and consume.
  const fresh = uniqueName('after');
  const sub = await harness.subscriber(broker.tcpAddress, fresh, 'c', 1);
  const pub = await harness.connect(broker.tcpAddress);
  pub.send(encodePub(fresh, Buffer.from('still alive')));
  await pub.expectResponse('OK');
  expect((await sub.nextMessage()).body.toString()).toBe('still alive');

  // Every acknowledged ledger message is delivered once, and nothing that was never published.
  expect(producer.acknowledgedCount).toBeGreaterThan(200);
  await audit.waitForCount(producer.acknowledgedCount, 10_000);
  await waitFor(async () => {
    const c = JSON.parse((await httpRequest(broker.httpAddress, 'GET', `/stats?format=json&topic=${ledger}`)).text).topics[0].channels[0];
    return c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0;
  }, 'the ledger to drain');
  expect(strays).toBe(0);
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let n = 0; n < producer.sent; n++) {
    if (producer.acknowledged[n] === 1 && received[n] === 0) missing.push(n);
    if (received[n]! > 1) duplicated.push(n);
  }
  expect({ missing, duplicated }).toEqual({ missing: [], duplicated: [] });

  const growthMb = (heapAfter - heapBefore) / 1e6;
  console.log(
    `fuzz seed ${seed}: ${fuzzMs} ms, ${rounds + 1} rounds of 400, ledger ${producer.acknowledgedCount} messages, ` +
      `HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
      `heap ${(heapBefore / 1e6).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)} MB (gc ${gc === undefined ? 'unavailable' : 'forced'})`,
  );
  // More rounds of the same traffic may not keep what they used.
  expect(growthMb).toBeLessThan(gc === undefined ? 64 : 4);
});
