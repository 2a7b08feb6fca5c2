/**
 * Random and mutated input against a real lookupd: V1 command streams split at random points, and
 * HTTP requests written raw (so request lines fetch would refuse are sent too). Seeded, so a failure
 * replays. Afterwards the lookupd must still register an nsqd and answer /lookup, and its state must
 * still hold its invariants.
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseQuery } from '../../broker/http-v1.ts';
import { decodeIdentifyBody } from '../../broker/lookupd/identify-body.ts';
import { startLookupd, type LookupdHandle } from '../../broker/lookupd/index.ts';
import { MAGIC_V1 } from '../../protocol/commands.ts';
import { isValidName } from '../../protocol/names.ts';
import { http, identityBody, V1Client } from '../integration/lookupd-helpers.ts';
import { randomCommandLine, validSession } from '../support/fuzz/corpus-lookupd.ts';
import { seededRandom } from '../support/prng.ts';

const prng = seededRandom;

const SEED = Number(process.env.LOOKUPD_FUZZ_SEED ?? 20240601);
let random = prng(SEED);
const int = (max: number): number => Math.floor(random() * max);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const randomBytes = (length: number): Buffer => Buffer.from(Array.from({ length }, () => int(256)));

function mutate(input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  for (let n = 1 + int(4); n > 0; n--) {
    const at = int(bytes.length + 1);
    switch (int(5)) {
      case 0: // flip a byte
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = int(256);
        break;
      case 1: // insert random bytes
        bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(1 + int(8)), bytes.subarray(at)]);
        break;
      case 2: // delete a run
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + int(8))]);
        break;
      case 3: // truncate
        bytes = bytes.subarray(0, at);
        break;
      default: // insert a random command line
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(randomCommandLine(random)), bytes.subarray(at)]);
    }
  }
  return bytes;
}

/** Writes `data` in random pieces, half-closes, and waits for the lookupd to close (bounded). */
async function sendStream(port: number, data: Buffer): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('data', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let offset = 0;
  while (offset < data.length) {
    const size = 1 + int(Math.max(1, data.length - offset));
    socket.write(data.subarray(offset, offset + size));
    offset += size;
  }
  socket.end();
  const timer = setTimeout(() => socket.destroy(), 5000);
  await closed;
  clearTimeout(timer);
}

/** Sends one raw HTTP/1.1 request and returns the status code (0 if the server closed without one). */
async function rawHttp(port: number, request: Buffer | string): Promise<{ status: number; response: string }> {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.end(request);
  const timer = setTimeout(() => socket.destroy(), 5000);
  await closed;
  clearTimeout(timer);
  const response = Buffer.concat(chunks).toString('latin1');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  return { status: status === null ? 0 : Number(status[1]), response };
}

const PATHS = ['/ping', '/info', '/debug', '/lookup', '/topics', '/channels', '/nodes', '/topic/create', '/topic/delete',
  '/channel/create', '/channel/delete', '/topic/tombstone', '/', '/nope', '/lookup/', '/LOOKUP', '//topics', '/a/../nodes', '/%zz', '/%2Fping'];
const KEYS = ['topic', 'channel', 'node', 'x', '', 'topic%', 'to+pic'];
const VALUES = ['t', 'c', 'e#ephemeral', '', '%zz', 'a;b', 'a+b', '%41', '*', 'bad!', '127.0.0.1:4151', 'x'.repeat(70), '%E9', '%00'];

function randomRequest(): string {
  const method = pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH']);
  const pairs = Array.from({ length: int(4) }, () => `${pick(KEYS)}${pick(['=', '=', ''])}${pick(VALUES)}`);
  const query = pairs.length === 0 ? '' : `?${pairs.join(pick(['&', '&', ';']))}`;
  const body = int(3) === 0 ? 'x'.repeat(int(200)) : '';
  return `${method} ${pick(PATHS)}${query} HTTP/1.1\r\nHost: lookupd\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

let lookupd: LookupdHandle;

beforeEach(async () => {
  random = prng(SEED);
  lookupd = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' });
});

afterEach(async () => {
  await lookupd.close();
});

/** The lookupd still works for a well-behaved nsqd and consumer, and its state is consistent. */
async function expectHealthy(): Promise<void> {
  const nsqd = await V1Client.connect(lookupd.tcpPort);
  try {
    expect((await nsqd.identify(identityBody({ broadcast_address: 'healthy' }))).startsWith('{')).toBe(true);
    expect(await nsqd.command('REGISTER health_check c')).toBe('OK');
    const lookup = await http(lookupd.httpAddress, '/lookup?topic=health_check');
    expect(lookup.status).toBe(200);
    expect(lookup.json.producers.map((p: { broadcast_address: string }) => p.broadcast_address)).toContain('healthy');
    expect(lookup.json.channels).toContain('c');
    const topics = (await http(lookupd.httpAddress, '/topics')).json.topics as string[];
    expect(topics.every((t) => isValidName(t))).toBe(true);
    for (const node of (await http(lookupd.httpAddress, '/nodes')).json.producers as Array<{ topics: string[]; tombstones: boolean[] }>) {
      expect(node.tombstones).toHaveLength(node.topics.length);
    }
    expect((await http(lookupd.httpAddress, '/debug')).status).toBe(200);
  } finally {
    nsqd.destroy();
  }
}

describe('lookupd under random input', () => {
  it('survives random bytes and random command lines on the V1 port', async () => {
    for (let batch = 0; batch < 10; batch++) {
      const streams = Array.from({ length: 20 }, () => {
        const kind = int(3);
        if (kind === 0) return Buffer.concat([MAGIC_V1, randomBytes(int(512))]);
        if (kind === 1) return randomBytes(int(64));
        return Buffer.concat([MAGIC_V1, Buffer.from(Array.from({ length: 1 + int(10) }, () => randomCommandLine(random)).join(''))]);
      });
      await Promise.all(streams.map((data) => sendStream(lookupd.tcpPort, data)));
    }
    await expectHealthy();
  });

  it('survives mutated nsqd sessions', async () => {
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 20 }, () => sendStream(lookupd.tcpPort, mutate(validSession()))));
    }
    await expectHealthy();
  });

  it('answers random HTTP requests with nsqlookupd statuses, never a 500', async () => {
    const allowed = new Set([200, 301, 307, 400, 404, 405]);
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(Array.from({ length: 20 }, () => rawHttp(lookupd.httpPort, randomRequest())));
      for (const { status, response } of results) {
        expect(allowed.has(status), response).toBe(true);
        if (status === 400 || status === 404 || status === 405) {
          const body = response.slice(response.indexOf('\r\n\r\n') + 4);
          if (body !== '' && !body.startsWith('400 Bad Request')) expect(JSON.parse(body)).toHaveProperty('message');
        }
      }
    }
    await expectHealthy();
  });

  it('answers garbage on the HTTP port without stopping', async () => {
    for (let i = 0; i < 50; i++) {
      const { status } = await rawHttp(lookupd.httpPort, randomBytes(1 + int(300)));
      expect([0, 400, 404, 405, 301, 307, 200]).toContain(status);
    }
    await expectHealthy();
  });

  it('never throws decoding random IDENTIFY bodies or query strings', () => {
    const fragments = ['{', '}', '"tcp_port"', ':', '1', '"x"', ',', 'null', '[', ']', '"broadcast_address"', '1e400', '-0', 'true'];
    for (let i = 0; i < 5000; i++) {
      const text = Array.from({ length: int(12) }, () => pick(fragments)).join('');
      const result = decodeIdentifyBody(Buffer.from(text));
      expect(typeof result.ok).toBe('boolean');
      const query = Array.from({ length: int(8) }, () => pick(['a', '=', '&', ';', '%', '%4', '%41', '+', 'é', '%E9', '%zz'])).join('');
      const parsed = parseQuery(query);
      expect(parsed === undefined || parsed instanceof Map).toBe(true);
    }
  });
});
