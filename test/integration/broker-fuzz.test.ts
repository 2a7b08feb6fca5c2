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
import { MAGIC_V2, encodeCommand, encodeDpub, encodeMpub, encodePub } from '../../protocol/commands.ts';
import type { BrokerHandle } from '../../broker/nsqd/server.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';
import { RawClient } from './helpers/raw-client.ts';
import { seededRandom } from '../support/prng.ts';

let harness: BrokerHarness;
beforeEach(() => {
  harness = new BrokerHarness();
});
afterEach(async () => {
  await harness.cleanup();
});

const rng = seededRandom;

class Fuzz {
  constructor(readonly random: () => number) {}
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(max: number): Buffer {
    const out = Buffer.allocUnsafe(this.int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }
  ascii(max: number, alphabet = 'abcxyz019._-#:%;&=?/ \r\n\t!'): string {
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** Fuzz traffic uses these names only, so it never touches the ledger topic. */
const FUZZ_TOPICS = ['fz_a', 'fz_b', 'fz_c#ephemeral', 'bad name', '', 'x'.repeat(70), 'fz_d'];
const FUZZ_CHANNELS = ['c1', 'c2', 'e#ephemeral', 'bad/chan', ''];

function sizedBody(fuzz: Fuzz): Buffer {
  if (fuzz.chance(0.05)) return Buffer.alloc(fuzz.int(70_000), 0x61);
  return fuzz.bytes(64);
}

function mpubBody(fuzz: Fuzz): Buffer {
  const count = fuzz.int(6);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeInt32BE(fuzz.chance(0.1) ? fuzz.pick([-1, 0, 0x7fffffff, 1_000_000]) : count);
  parts.push(head);
  for (let i = 0; i < count; i++) {
    const body = fuzz.bytes(20);
    const size = Buffer.alloc(4);
    size.writeInt32BE(fuzz.chance(0.1) ? fuzz.pick([-5, 0, 1 << 30]) : body.length);
    parts.push(size, body);
  }
  return Buffer.concat(parts);
}

/** One command, well formed or nearly so. */
function command(fuzz: Fuzz): Buffer {
  const topic = fuzz.pick(FUZZ_TOPICS);
  const channel = fuzz.pick(FUZZ_CHANNELS);
  const id = fuzz.chance(0.5) ? '0123456789abcdef' : fuzz.ascii(20);
  switch (fuzz.int(16)) {
    case 0:
      return encodeCommand('IDENTIFY', [], Buffer.from(fuzz.chance(0.7) ? JSON.stringify(identifyBody(fuzz)) : fuzz.ascii(40)));
    case 1:
      return encodeCommand('SUB', [topic, channel]);
    case 2:
      return encodeCommand('RDY', [fuzz.pick(['0', '1', '100', '2500', '2501', '-1', 'abc', '99999999999'])]);
    case 3:
      return encodeCommand('FIN', [id]);
    case 4:
      return encodeCommand('REQ', [id, fuzz.pick(['0', '10', '-1', 'x', '9999999999'])]);
    case 5:
      return encodeCommand('TOUCH', [id]);
    case 6:
      return encodePub(topic, sizedBody(fuzz));
    case 7:
      return encodeCommand('MPUB', [topic], mpubBody(fuzz));
    case 8:
      return encodeCommand('DPUB', [topic, fuzz.pick(['0', '5', '100', '-1', '3600001', 'z'])], fuzz.bytes(16));
    case 9:
      return Buffer.from('NOP\n');
    case 10:
      return Buffer.from('CLS\n');
    case 11:
      return encodeCommand('AUTH', [], fuzz.bytes(16));
    case 12: {
      // A body command whose size word lies: huge, negative, or longer than what follows.
      const out = encodePub(topic, fuzz.bytes(8));
      const sizeAt = out.indexOf(0x0a) + 1;
      out.writeInt32BE(fuzz.pick([0x7fffffff, -1, 0, 1 << 24, 100]), sizeAt);
      return out;
    }
    case 13:
      return Buffer.from(`${fuzz.ascii(12, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ')}\n`);
    case 14:
      return Buffer.from(`${fuzz.pick(['PUB', 'SUB', 'RDY', 'FIN', 'MPUB'])}${fuzz.ascii(30)}\n`);
    default:
      return fuzz.bytes(40);
  }
}

function identifyBody(fuzz: Fuzz): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const fields: Array<[string, () => unknown]> = [
    ['client_id', () => fuzz.ascii(10)],
    ['hostname', () => fuzz.ascii(10)],
    ['feature_negotiation', () => fuzz.chance(0.5)],
    ['heartbeat_interval', () => fuzz.pick([-1, 0, 999, 1000, 60_000, 70_000, 'x'])],
    ['output_buffer_size', () => fuzz.pick([-1, 0, 64, 16384, 70_000])],
    ['output_buffer_timeout', () => fuzz.pick([-1, 0, 1, 250, 40_000])],
    ['sample_rate', () => fuzz.pick([-1, 0, 50, 99, 100])],
    ['msg_timeout', () => fuzz.pick([0, 999, 1000, 60_000, 1_000_000_000])],
    ['tls_v1', () => fuzz.chance(0.2)],
    ['snappy', () => fuzz.chance(0.2)],
    ['deflate', () => fuzz.chance(0.2)],
    ['deflate_level', () => fuzz.pick([0, 1, 6, 9, 10])],
    ['user_agent', () => fuzz.ascii(10)],
  ];
  for (const [name, value] of fields) if (fuzz.chance(0.4)) body[name] = value();
  return body;
}

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

const HTTP_PATHS = [
  '/ping', '/info', '/pub', '/mpub', '/stats', '/topic/create', '/topic/delete', '/topic/empty', '/topic/pause', '/topic/unpause',
  '/channel/create', '/channel/delete', '/channel/empty', '/channel/pause', '/channel/unpause', '/config/msg_timeout',
  '/config/log_level', '/config/nsqlookupd_tcp_addresses', '/config/nope', '/debug/pprof', '/', '/pub/', '//pub', '/%zz', '/stats/../info',
];
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'];

function randomQuery(fuzz: Fuzz): string {
  const pairs: string[] = [];
  for (let i = 0, n = fuzz.int(5); i < n; i++) {
    const key = fuzz.pick(['topic', 'channel', 'format', 'defer', 'binary', 'include_clients', 'include_mem', fuzz.ascii(5)]);
    const value = key === 'topic' ? fuzz.pick(FUZZ_TOPICS) : key === 'channel' ? fuzz.pick(FUZZ_CHANNELS) : fuzz.ascii(8, 'abc01%;+-&=json');
    pairs.push(`${encodeURIComponent(key)}=${fuzz.chance(0.8) ? encodeURIComponent(value) : value.replace(/[ \r\n\t#?/]/g, '')}`);
  }
  return pairs.length === 0 ? '' : `?${pairs.join(fuzz.chance(0.9) ? '&' : ';')}`;
}

async function fuzzHttp(broker: BrokerHandle, fuzz: Fuzz, statuses: Map<number, number>, failures: string[]): Promise<void> {
  const method = fuzz.pick(HTTP_METHODS);
  const path = `${fuzz.pick(HTTP_PATHS)}${randomQuery(fuzz)}`;
  let body: Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && fuzz.chance(0.8)) {
    body = fuzz.chance(0.5) ? Buffer.from(fuzz.ascii(60, 'abc\n\r01 ')) : fuzz.chance(0.5) ? mpubBody(fuzz) : fuzz.bytes(200);
  }
  const headers: Record<string, string | number> = {};
  if (body !== undefined && fuzz.chance(0.3)) headers['Transfer-Encoding'] = 'chunked';
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
