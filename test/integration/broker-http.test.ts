/**
 * The bundled nsqd's HTTP API against the fact sheet (§3): paths, methods, parameters, status codes,
 * JSON shapes and field order, and the effects of each admin endpoint on delivery.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeDpub, encodeFin, encodePub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import type { BrokerHandle } from '../../broker/nsqd/server.ts';
import { BrokerHarness, httpRequest, uniqueName, waitFor, type HttpResponse } from './helpers/broker-harness.ts';
import type { RawClient } from './helpers/raw-client.ts';

const NSQ_HEADER = 'x-nsq-content-type';
const NSQ_HEADER_VALUE = 'nsq; version=1.0';

let fixture: BrokerHarness;
beforeEach(() => {
  fixture = new BrokerHarness();
});
afterEach(async () => {
  await fixture.cleanup();
});

function get(broker: BrokerHandle, path: string): Promise<HttpResponse> {
  return httpRequest(broker.httpAddress, 'GET', path);
}

function post(broker: BrokerHandle, path: string, body?: Buffer | string, headers?: Record<string, string | number>): Promise<HttpResponse> {
  return httpRequest(broker.httpAddress, 'POST', path, body, headers);
}

async function expectError(response: Promise<HttpResponse>, status: number, message: string): Promise<void> {
  const res = await response;
  expect({ status: res.status, body: res.text }).toEqual({ status, body: JSON.stringify({ message }) });
  expect(res.headers[NSQ_HEADER]).toBe(NSQ_HEADER_VALUE);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
}

async function expectOk(response: Promise<HttpResponse>, body = ''): Promise<void> {
  const res = await response;
  expect({ status: res.status, body: res.text }).toEqual({ status: 200, body });
  expect(res.headers[NSQ_HEADER]).toBe(NSQ_HEADER_VALUE);
}

// The stats shapes are read loosely typed: the tests check names, order and values.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function statsJson(broker: BrokerHandle, query = ''): Promise<Json> {
  const res = await get(broker, `/stats?format=json${query}`);
  expect(res.status).toBe(200);
  return JSON.parse(res.text);
}

async function topicStats(broker: BrokerHandle, topic: string): Promise<Json> {
  const stats = await statsJson(broker, `&topic=${topic}`);
  return stats.topics?.[0];
}

async function channelStats(broker: BrokerHandle, topic: string, channel: string): Promise<Json> {
  return (await topicStats(broker, topic))?.channels.find((c: Json) => c.channel_name === channel);
}

/**
 * Proves that nothing was delivered to `client` so far: a TOUCH of an unknown id is answered with a
 * non-fatal error, and any message the broker had sent before it would arrive first.
 */
async function expectNothingDelivered(client: RawClient): Promise<void> {
  client.send('TOUCH 0000000000000000\n');
  const frame = await client.nextFrame();
  expect(frame.type, `unexpected frame: ${frame.data.toString()}`).toBe(FrameType.Error);
  expect(frame.data.toString()).toMatch(/^E_TOUCH_FAILED /);
}

/** A request whose headers claim `contentLength` bytes and whose body never comes: the raw response. */
function sendHeadersOnly(address: string, path: string, contentLength: number): Promise<string> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    let response = '';
    socket.on('data', (chunk) => {
      response += chunk.toString();
      // The whole JSON error body has arrived.
      if (/\r\n\r\n.*\}$/s.test(response)) {
        socket.destroy();
        resolve(response);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(response));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: nsqd\r\nContent-Length: ${contentLength}\r\n\r\n`);
  });
}

describe('/ping and /info', () => {
  it('/ping answers OK as plain text without the V1 header', async () => {
    const broker = await fixture.start();
    const res = await get(broker, '/ping');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK');
    expect(res.headers[NSQ_HEADER]).toBeUndefined();
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('/info has nsqd shape and order, nanosecond durations and the bound ports', async () => {
    const broker = await fixture.start({ maxHeartbeatIntervalMs: 60_000, maxOutputBufferTimeoutMs: 30_000 });
    const before = Math.floor(Date.now() / 1000);
    const res = await get(broker, '/info');
    expect(res.status).toBe(200);
    expect(res.headers[NSQ_HEADER]).toBe(NSQ_HEADER_VALUE);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const info = JSON.parse(res.text);
    expect(Object.keys(info)).toEqual([
      'version',
      'broadcast_address',
      'hostname',
      'http_port',
      'tcp_port',
      'start_time',
      'max_heartbeat_interval',
      'max_output_buffer_size',
      'max_output_buffer_timeout',
      'max_deflate_level',
    ]);
    expect(info).toMatchObject({
      version: '1.3.0',
      broadcast_address: '127.0.0.1',
      http_port: broker.httpPort,
      tcp_port: broker.tcpPort,
      max_heartbeat_interval: 60_000_000_000,
      max_output_buffer_size: 65536,
      max_output_buffer_timeout: 30_000_000_000,
      max_deflate_level: 6,
    });
    // nsqd v1.3.0 has no topology fields (they came after it).
    expect(info).not.toHaveProperty('topology_zone');
    expect(typeof info.hostname).toBe('string');
    expect(info.start_time).toBeLessThanOrEqual(before + 1);
    expect(info.start_time).toBeGreaterThan(before - 60);
    // The raw text carries integers, not floats or exponents.
    expect(res.text).toContain('"max_heartbeat_interval":60000000000');
  });
});

describe('/pub', () => {
  it('publishes a message that a subscriber receives', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    await expectOk(post(broker, `/pub?topic=${topic}`, 'hello'), 'OK');
    const message = await sub.nextMessage();
    expect(message.body.toString()).toBe('hello');
    expect(message.attempts).toBe(1);
  });

  it('treats a curl -d (form-encoded) body as the raw message', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    const body = 'hello=world&x=%20+y';
    await expectOk(post(broker, `/pub?topic=${topic}`, body, { 'Content-Type': 'application/x-www-form-urlencoded', Accept: '*/*' }), 'OK');
    expect((await sub.nextMessage()).body.toString()).toBe(body);
  });

  it('defers a message: not delivered before its delay, delivered after', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    const delayMs = 300;
    const start = Date.now();
    await expectOk(post(broker, `/pub?topic=${topic}&defer=${delayMs}`, 'later'), 'OK');
    const channel = await channelStats(broker, topic, 'c');
    expect({ deferred: channel.deferred_count, depth: channel.depth, messages: channel.message_count }).toEqual({ deferred: 1, depth: 0, messages: 1 });
    await expectNothingDelivered(sub);
    const message = await sub.nextMessage(5000);
    expect(Date.now() - start).toBeGreaterThanOrEqual(delayMs - 1);
    expect(message.body.toString()).toBe('later');
  });

  it('defer=0 publishes at once', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    await expectOk(post(broker, `/pub?topic=${topic}&defer=0`, 'now'), 'OK');
    expect((await sub.nextMessage()).body.toString()).toBe('now');
  });

  it('rejects a Content-Length over max-msg-size before reading the body: 413 MSG_TOO_BIG', async () => {
    const broker = await fixture.start({ maxMsgSize: 1024 });
    const raw = await sendHeadersOnly(broker.httpAddress, `/pub?topic=${uniqueName()}`, 1025);
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw).toMatch(/x-nsq-content-type: nsq; version=1\.0/i);
    expect(raw.endsWith('{"message":"MSG_TOO_BIG"}')).toBe(true);
  });

  it('rejects a chunked body over max-msg-size: 413 MSG_TOO_BIG, and nothing is queued', async () => {
    const broker = await fixture.start({ maxMsgSize: 1024 });
    const topic = uniqueName();
    await expectError(post(broker, `/pub?topic=${topic}`, Buffer.alloc(1025, 0x61), { 'Transfer-Encoding': 'chunked' }), 413, 'MSG_TOO_BIG');
    // Exactly max-msg-size is fine.
    await expectOk(post(broker, `/pub?topic=${topic}`, Buffer.alloc(1024, 0x61), { 'Transfer-Encoding': 'chunked' }), 'OK');
    expect((await topicStats(broker, topic)).message_count).toBe(1);
  });

  it('answers a chunked body that goes past max-msg-size at once, before it ends; the connection is closed after 256 KiB more', async () => {
    const broker = await fixture.start({ maxMsgSize: 1024 });
    const [host, port] = broker.httpAddress.split(':');
    const request = http.request({ host, port: Number(port), method: 'POST', path: `/pub?topic=${uniqueName()}`, headers: { 'Transfer-Encoding': 'chunked' } });
    request.on('error', () => {});
    const answered = new Promise<{ status: number; body: string }>((resolve) => {
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
    });
    // Past the limit, and no final chunk: nsqd reads max+1 bytes and answers then.
    request.write(Buffer.alloc(2048, 0x61));
    expect(await answered).toEqual({ status: 413, body: '{"message":"MSG_TOO_BIG"}' });
    // A body that never ends is not read for ever.
    const closed = new Promise<void>((resolve) => request.on('close', resolve));
    for (let i = 0; i < 40 && !request.destroyed; i++) request.write(Buffer.alloc(16 << 10, 0x61));
    await closed;
  });

  it('answers every argument error with nsqd status and text, in nsqd order', async () => {
    const broker = await fixture.start({ maxReqTimeoutMs: 10_000 });
    const topic = uniqueName();
    await expectError(post(broker, `/pub?topic=${topic}`, ''), 400, 'MSG_EMPTY');
    // The body is checked before the topic.
    await expectError(post(broker, '/pub', ''), 400, 'MSG_EMPTY');
    await expectError(post(broker, '/pub', 'x'), 400, 'MISSING_ARG_TOPIC');
    await expectError(post(broker, '/pub?topic=bad!name', 'x'), 400, 'INVALID_TOPIC');
    await expectError(post(broker, `/pub?topic=${'a'.repeat(65)}`, 'x'), 400, 'INVALID_TOPIC');
    await expectError(post(broker, '/pub?topic=', 'x'), 400, 'INVALID_TOPIC');
    for (const bad of ['-1', 'abc', '1.5', '', '10001', '99999999999999999999']) {
      await expectError(post(broker, `/pub?topic=${topic}&defer=${bad}`, 'x'), 400, 'INVALID_DEFER');
    }
    await expectOk(post(broker, `/pub?topic=${topic}&defer=10000`, 'x'), 'OK');
    // strconv.ParseInt takes a sign: +5 is 5 ms, -0 is 0.
    await expectOk(post(broker, `/pub?topic=${topic}&defer=%2B5`, 'x'), 'OK');
    await expectOk(post(broker, `/pub?topic=${topic}&defer=-0`, 'x'), 'OK');
    const stats = await topicStats(broker, topic);
    // nsqd creates the topic when the topic is checked, even if defer is then refused.
    expect(stats.message_count).toBe(3);
  });

  it('creates the topic before checking defer, and /mpub before reading the body, as nsqd does', async () => {
    const broker = await fixture.start();
    const [deferred, batch] = [uniqueName(), uniqueName()];
    await expectError(post(broker, `/pub?topic=${deferred}&defer=-5`, 'x'), 400, 'INVALID_DEFER');
    await expectError(post(broker, `/mpub?topic=${batch}&binary=true`, 'xx'), 413, 'BAD_BODY');
    for (const topic of [deferred, batch]) {
      const stats = await topicStats(broker, topic);
      expect({ name: stats?.topic_name, messages: stats?.message_count }).toEqual({ name: topic, messages: 0 });
    }
    // Body errors come first: no topic then.
    const empty = uniqueName();
    await expectError(post(broker, `/pub?topic=${empty}`, ''), 400, 'MSG_EMPTY');
    expect(await topicStats(broker, empty)).toBeUndefined();
  });

  it('is POST only', async () => {
    const broker = await fixture.start();
    await expectError(get(broker, `/pub?topic=${uniqueName()}`), 405, 'METHOD_NOT_ALLOWED');
    await expectError(httpRequest(broker.httpAddress, 'PUT', `/pub?topic=${uniqueName()}`, 'x'), 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('/mpub', () => {
  it('text mode: one message per line, empty lines skipped, \\r kept', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 100);
    await expectOk(post(broker, `/mpub?topic=${topic}`, 'one\n\ntwo\r\n\nthree'), 'OK');
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await sub.nextMessage()).body.toString());
    expect(bodies).toEqual(['one', 'two\r', 'three']);
    await expectNothingDelivered(sub);
    // binary=false and binary=0 are text mode too; an empty body queues nothing.
    await expectOk(post(broker, `/mpub?topic=${topic}&binary=false`, 'four\n'), 'OK');
    await expectOk(post(broker, `/mpub?topic=${topic}&binary=0`, 'five'), 'OK');
    await expectOk(post(broker, `/mpub?topic=${topic}`, ''), 'OK');
    expect((await sub.nextMessage()).body.toString()).toBe('four');
    expect((await sub.nextMessage()).body.toString()).toBe('five');
    expect((await topicStats(broker, topic)).message_count).toBe(5);
  });

  function binaryBody(bodies: Buffer[], count = bodies.length): Buffer {
    const parts: Buffer[] = [Buffer.alloc(4)];
    parts[0]!.writeInt32BE(count);
    for (const body of bodies) {
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length);
      parts.push(size, body);
    }
    return Buffer.concat(parts);
  }

  it('binary mode: [count]{[size][bytes]} with no outer size word', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 100);
    const bodies = [Buffer.from('a\nb'), Buffer.from([0, 1, 2, 255]), Buffer.from('x'.repeat(300))];
    await expectOk(post(broker, `/mpub?topic=${topic}&binary=true`, binaryBody(bodies)), 'OK');
    await expectOk(post(broker, `/mpub?topic=${topic}&binary=1`, binaryBody([Buffer.from('four')])), 'OK');
    const received = [];
    for (let i = 0; i < 4; i++) received.push((await sub.nextMessage()).body);
    expect(received).toEqual([...bodies, Buffer.from('four')]);
  });

  it('answers size and format errors with nsqd codes, and queues nothing (atomic)', async () => {
    const broker = await fixture.start({ maxMsgSize: 100, maxBodySize: 1000 });
    const topic = uniqueName();
    await expectOk(post(broker, `/topic/create?topic=${topic}`));
    // Content-Length over max-body-size, checked before anything else.
    const raw = await sendHeadersOnly(broker.httpAddress, `/mpub?topic=${topic}`, 1001);
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw.endsWith('{"message":"BODY_TOO_BIG"}')).toBe(true);
    // A chunked body over max-body-size.
    await expectError(post(broker, `/mpub?topic=${topic}`, 'x\n'.repeat(501), { 'Transfer-Encoding': 'chunked' }), 413, 'BODY_TOO_BIG');
    // Text mode: one line over max-msg-size fails the whole request.
    await expectError(post(broker, `/mpub?topic=${topic}`, `ok\n${'y'.repeat(101)}\nok`), 413, 'MSG_TOO_BIG');
    // Binary mode: TCP's error codes without their E_ prefix.
    await expectError(post(broker, `/mpub?topic=${topic}&binary=true`, Buffer.alloc(2)), 413, 'BAD_BODY');
    await expectError(post(broker, `/mpub?topic=${topic}&binary=true`, binaryBody([], 0)), 413, 'BAD_BODY');
    await expectError(post(broker, `/mpub?topic=${topic}&binary=true`, binaryBody([Buffer.from('ok')], 2)), 413, 'BAD_MESSAGE');
    await expectError(post(broker, `/mpub?topic=${topic}&binary=true`, binaryBody([Buffer.from('ok'), Buffer.alloc(101)])), 413, 'BAD_MESSAGE');
    const zeroSize = binaryBody([Buffer.from('ok'), Buffer.alloc(0)]);
    await expectError(post(broker, `/mpub?topic=${topic}&binary=true`, zeroSize), 413, 'BAD_MESSAGE');
    // A text body sent as binary is a format error too.
    await expectError(post(broker, `/mpub?topic=${topic}&binary=true`, 'hello\nworld'), 413, 'BAD_BODY');
    await expectError(post(broker, '/mpub', 'x'), 400, 'MISSING_ARG_TOPIC');
    await expectError(post(broker, '/mpub?topic=no/slash', 'x'), 400, 'INVALID_TOPIC');
    const stats = await topicStats(broker, topic);
    expect({ messages: stats.message_count, depth: stats.depth }).toEqual({ messages: 0, depth: 0 });
  });
});

describe('/mpub into a topic deleted while its body uploads', () => {
  it('answers 503 EXITING, as nsqd (its topic refuses with "exiting"), and nothing is published anywhere', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const body = 'one\ntwo\nthree\n';
    const colon = broker.httpAddress.lastIndexOf(':');
    const request = http.request({ host: '127.0.0.1', port: Number(broker.httpAddress.slice(colon + 1)), method: 'POST', path: `/mpub?topic=${topic}`, headers: { 'content-length': body.length } });
    const answered = new Promise<{ status: number | undefined; text: string }>((resolve, reject) => {
      request.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode, text }));
      });
      request.on('error', reject);
    });
    request.write(body.slice(0, 4));
    // nsqd makes the topic before it reads the body: once it exists, the handler holds it.
    await waitFor(async () => (await topicStats(broker, topic)) !== undefined || undefined, 'the /mpub to make its topic');
    await expectOk(post(broker, `/topic/delete?topic=${topic}`));
    request.end(body.slice(4));
    expect(await answered).toEqual({ status: 503, text: JSON.stringify({ message: 'EXITING' }) });
    expect(await topicStats(broker, topic)).toBeUndefined();
  });
});

describe('/stats', () => {
  const TOPIC_KEYS = ['topic_name', 'channels', 'depth', 'backend_depth', 'message_count', 'message_bytes', 'paused', 'e2e_processing_latency'];
  const CHANNEL_KEYS = [
    'channel_name',
    'depth',
    'backend_depth',
    'in_flight_count',
    'deferred_count',
    'message_count',
    'requeue_count',
    'timeout_count',
    'client_count',
    'clients',
    'paused',
    'e2e_processing_latency',
  ];
  const CLIENT_KEYS = [
    'client_id',
    'hostname',
    'version',
    'remote_address',
    'state',
    'ready_count',
    'in_flight_count',
    'message_count',
    'finish_count',
    'requeue_count',
    'connect_ts',
    'sample_rate',
    'deflate',
    'snappy',
    'user_agent',
    'tls',
    'tls_cipher_suite',
    'tls_version',
    'tls_negotiated_protocol',
    'tls_negotiated_protocol_is_mutual',
  ];
  const MEMORY_KEYS = [
    'heap_objects',
    'heap_idle_bytes',
    'heap_in_use_bytes',
    'heap_released_bytes',
    'gc_pause_usec_100',
    'gc_pause_usec_99',
    'gc_pause_usec_95',
    'next_gc_bytes',
    'gc_total_runs',
  ];

  it('format=json: every field nsqadmin and nsq_stat read, in nsqd order, with live counters', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'consumer', 2, { client_id: 'cid', hostname: 'host.example', user_agent: 'test/1.0' });
    for (let i = 0; i < 4; i++) await expectOk(post(broker, `/pub?topic=${topic}`, `m${i}`), 'OK');
    const first = await sub.nextMessage();
    await sub.nextMessage();
    sub.send(encodeFin(first.id));
    // The FIN opens the window for the third message; the fourth waits.
    expect((await sub.nextMessage()).body.toString()).toBe('m2');

    const res = await get(broker, '/stats?format=json');
    expect(res.headers[NSQ_HEADER]).toBe(NSQ_HEADER_VALUE);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const stats = JSON.parse(res.text);
    expect(Object.keys(stats)).toEqual(['version', 'health', 'start_time', 'topics', 'memory', 'producers']);
    expect(stats).toMatchObject({ version: '1.3.0', health: 'OK', producers: null });
    expect(Object.keys(stats.memory)).toEqual(MEMORY_KEYS);
    const t = stats.topics.find((x: Json) => x.topic_name === topic);
    expect(Object.keys(t)).toEqual(TOPIC_KEYS);
    expect(t).toMatchObject({ depth: 0, backend_depth: 0, message_count: 4, message_bytes: 8, paused: false, e2e_processing_latency: { count: 0, percentiles: null } });
    const c = t.channels[0];
    expect(Object.keys(c)).toEqual(CHANNEL_KEYS);
    expect(c).toMatchObject({
      channel_name: 'consumer',
      depth: 1,
      backend_depth: 0,
      in_flight_count: 2,
      deferred_count: 0,
      message_count: 4,
      requeue_count: 0,
      timeout_count: 0,
      client_count: 1,
      paused: false,
      e2e_processing_latency: { count: 0, percentiles: null },
    });
    const client = c.clients[0];
    expect(Object.keys(client)).toEqual(CLIENT_KEYS);
    expect(client).toMatchObject({
      client_id: 'cid',
      hostname: 'host.example',
      version: 'V2',
      state: 3,
      ready_count: 2,
      in_flight_count: 2,
      message_count: 3,
      finish_count: 1,
      requeue_count: 0,
      sample_rate: 0,
      deflate: false,
      snappy: false,
      user_agent: 'test/1.0',
      tls: false,
      tls_cipher_suite: '',
      tls_version: '',
    });
    expect(client.remote_address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(client.connect_ts).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('lists a TCP publisher under producers with its pub_counts', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const producer = await fixture.connect(broker.tcpAddress);
    producer.send(encodePub(topic, Buffer.from('a')));
    await producer.expectResponse('OK');
    producer.send(encodePub(topic, Buffer.from('b')));
    await producer.expectResponse('OK');
    const stats = await statsJson(broker);
    expect(stats.producers).toHaveLength(1);
    const entry = stats.producers[0];
    expect(Object.keys(entry)).toEqual([...CLIENT_KEYS.slice(0, 15), 'pub_counts', ...CLIENT_KEYS.slice(15)]);
    expect(entry.pub_counts).toEqual([{ topic, count: 2 }]);
    expect(entry.state).toBe(0);
    expect((await statsJson(broker, '&include_clients=false')).producers).toBeNull();
    // A topic that does not exist: nsqd's GetStats returns before it lists producers.
    expect(await statsJson(broker, `&topic=${topic}_none`)).toMatchObject({ topics: null, producers: null });
    expect((await statsJson(broker, `&topic=${topic}`)).producers).toHaveLength(1);
  });

  it('filters by topic (unknown → topics null) and by channel; sorts names', async () => {
    const broker = await fixture.start();
    const base = uniqueName();
    const [a, b, c] = [`${base}_a`, `${base}_b`, `${base}_c`];
    for (const topic of [c, a, b]) await expectOk(post(broker, `/topic/create?topic=${topic}`));
    for (const channel of ['zeta', 'alpha', 'mid']) await expectOk(post(broker, `/channel/create?topic=${b}&channel=${channel}`));
    await expectOk(post(broker, `/channel/create?topic=${c}&channel=mid`));

    const all = await statsJson(broker);
    expect(all.topics.map((t: Json) => t.topic_name)).toEqual([a, b, c]);
    expect(all.topics[1].channels.map((ch: Json) => ch.channel_name)).toEqual(['alpha', 'mid', 'zeta']);
    expect(all.topics[0].channels).toEqual([]);

    const one = await statsJson(broker, `&topic=${b}`);
    expect(one.topics.map((t: Json) => t.topic_name)).toEqual([b]);

    const unknown = await statsJson(broker, '&topic=no_such_topic');
    expect(unknown.topics).toBeNull();
    expect(Object.keys(unknown)).toContain('topics');

    const byChannel = await statsJson(broker, '&channel=mid');
    expect(byChannel.topics.map((t: Json) => [t.topic_name, t.channels.map((ch: Json) => ch.channel_name)])).toEqual([
      [b, ['mid']],
      [c, ['mid']],
    ]);
    const both = await statsJson(broker, `&topic=${b}&channel=zeta`);
    expect(both.topics.map((t: Json) => [t.topic_name, t.channels.map((ch: Json) => ch.channel_name)])).toEqual([[b, ['zeta']]]);
    // nsq_stat's poll: topic and channel given, the channel missing.
    const missing = await statsJson(broker, `&topic=${a}&channel=zeta&include_clients=false`);
    expect(missing.topics).toEqual([]);
  });

  it('include_clients=false: clients and producers null, client_count kept; include_mem=false: no memory key', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    await fixture.subscriber(broker.tcpAddress, topic, 'c', 1);
    const producer = await fixture.connect(broker.tcpAddress);
    producer.send(encodePub(topic, Buffer.from('x')));
    await producer.expectResponse('OK');
    for (const value of ['false', '0']) {
      const stats = await statsJson(broker, `&topic=${topic}&include_clients=${value}`);
      expect(stats.producers).toBeNull();
      expect(stats.topics[0].channels[0].clients).toBeNull();
      expect(stats.topics[0].channels[0].client_count).toBe(1);
    }
    for (const value of ['true', '1', 'yes', '']) {
      const stats = await statsJson(broker, `&topic=${topic}&include_clients=${value}`);
      expect(stats.topics[0].channels[0].clients).toHaveLength(1);
      expect(stats.producers).toHaveLength(1);
    }
    for (const value of ['false', '0']) {
      expect(Object.keys(await statsJson(broker, `&include_mem=${value}`))).toEqual(['version', 'health', 'start_time', 'topics', 'producers']);
    }
    expect(Object.keys(await statsJson(broker, '&include_mem=bogus'))).toContain('memory');
  });

  it('text format as nsqd v1.3.0 prints it: Topics: None, the memory block, client and producer lines', async () => {
    const broker = await fixture.start();
    const empty = (await get(broker, '/stats?include_mem=false')).text;
    expect(empty).toMatch(/^nsqd v1\.3\.0 \(built w\/[^)]+\)\nstart_time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nuptime [\d.hms]+\n\nHealth: OK\n\nTopics: None\n\nProducers: None\n$/);

    const topic = uniqueName();
    await fixture.subscriber(broker.tcpAddress, topic, 'chan', 1, { hostname: 'worker-host', user_agent: 'test/1.0' });
    const producer = await fixture.connect(broker.tcpAddress);
    producer.send(encodePub(topic, Buffer.from('x')));
    await producer.expectResponse('OK');
    const text = (await get(broker, '/stats')).text;
    const lines = text.split('\n');
    expect(lines.slice(3, 7)).toEqual(['', 'Health: OK', '', 'Memory:']);
    expect(lines[7]).toMatch(/^   heap_objects {13}\t\d+$/);
    const topicAt = lines.findIndex((line) => line.includes(`[${topic}`));
    // "Topics:" and the first topic line follow each other; the channel and its client come next.
    expect(lines[topicAt - 1]).toBe('Topics:');
    expect(lines[topicAt + 1]).toMatch(/^ {6}\[chan {21}\] depth: /);
    expect(lines[topicAt + 2]).toMatch(/^ {8}\[V2 worker-host:\d+ test\/1\.0 *\] state: 3 inflt: 1 +rdy: 1 +fin: 0 +re-q: 0 +msgs: 1 +connected: \d+s$/);
    const producersAt = lines.indexOf('Producers:');
    expect(producersAt).toBeGreaterThan(topicAt);
    expect(lines[producersAt + 1]).toMatch(new RegExp(`^ {3}\\[V2 .+:\\d+ .*\\] msgs: 1 +topics: ${topic}=1 connected: \\d+s$`));
  });

  it('an empty topic or channel parameter is no filter, as in nsqd', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    await expectOk(post(broker, `/topic/create?topic=${topic}`));
    const stats = await statsJson(broker, '&topic=&channel=');
    expect(stats.topics.map((t: Json) => t.topic_name)).toContain(topic);
  });

  it('text format for people: header, topic and channel lines, paused marks', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    await expectOk(post(broker, `/pub?topic=${topic}`, 'x'), 'OK');
    await expectOk(post(broker, `/channel/create?topic=${topic}&channel=chan`));
    await expectOk(post(broker, `/channel/pause?topic=${topic}&channel=chan`));
    await expectOk(post(broker, `/topic/pause?topic=${topic}`));
    for (const query of ['', '?format=text']) {
      const res = await get(broker, `/stats${query}`);
      expect(res.status).toBe(200);
      expect(res.headers[NSQ_HEADER]).toBe(NSQ_HEADER_VALUE);
      const lines = res.text.split('\n');
      expect(lines[0]).toMatch(/^nsqd v1\.3\.0 /);
      expect(res.text).toContain('Health: OK');
      expect(res.text).toContain('Topics:');
      const topicLine = lines.find((line) => line.includes(`[${topic}`));
      expect(topicLine).toMatch(/^\*P \[/);
      expect(topicLine).toMatch(/depth: 0 +be-depth: 0 +msgs: 1 +e2e%:/);
      const channelLine = lines.find((line) => line.includes('[chan'));
      expect(channelLine).toMatch(/^ +\*P \[chan/);
      // The message waiting at the topic flowed to its first channel.
      expect(channelLine).toMatch(/depth: 1 +be-depth: 0 +inflt: 0 +def: 0 +re-q: 0 +timeout: 0 +msgs: 1 +e2e%:/);
    }
  });

  it('rejects a query string Go cannot parse: 400 INVALID_REQUEST', async () => {
    const broker = await fixture.start();
    await expectError(get(broker, '/stats?format=json&topic=%zz'), 400, 'INVALID_REQUEST');
    await expectError(get(broker, '/stats?format=json;topic=x'), 400, 'INVALID_REQUEST');
    await expectError(post(broker, '/topic/create?topic=a%'), 400, 'INVALID_REQUEST');
    await expectError(post(broker, '/pub?topic=a;b', 'x'), 400, 'INVALID_REQUEST');
  });
});

describe('/topic/*', () => {
  it('create, delete: status codes and effects', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    await expectError(post(broker, '/topic/create'), 400, 'MISSING_ARG_TOPIC');
    await expectError(post(broker, '/topic/create?topic=bad$'), 400, 'INVALID_TOPIC');
    await expectOk(post(broker, `/topic/create?topic=${topic}`));
    await expectOk(post(broker, `/topic/create?topic=${topic}`));
    expect((await topicStats(broker, topic)).topic_name).toBe(topic);

    await expectError(post(broker, '/topic/delete'), 400, 'MISSING_ARG_TOPIC');
    // The name is not validated on delete.
    await expectError(post(broker, '/topic/delete?topic=bad$'), 404, 'TOPIC_NOT_FOUND');
    await expectError(post(broker, `/topic/delete?topic=${topic}_nope`), 404, 'TOPIC_NOT_FOUND');
    await expectOk(post(broker, `/topic/delete?topic=${topic}`));
    expect(await topicStats(broker, topic)).toBeUndefined();
    await expectError(get(broker, `/topic/create?topic=${topic}`), 405, 'METHOD_NOT_ALLOWED');
  });

  it('delete closes the consumers of its channels and removes its files', async () => {
    const broker = await fixture.start({ memQueueSize: 0 });
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 0);
    await expectOk(post(broker, `/pub?topic=${topic}`, 'x'), 'OK');
    await expectOk(post(broker, `/topic/delete?topic=${topic}`));
    await sub.waitClosed();
    const files = readdirSync(broker.nsqd.options.dataPath);
    expect(files.filter((file) => file.startsWith(topic))).toEqual([]);
  });

  it('empty clears the topic memory and disk queues, not its channels', async () => {
    const broker = await fixture.start({ memQueueSize: 2 });
    const topic = uniqueName();
    await expectOk(post(broker, `/mpub?topic=${topic}`, 'a\nb\nc\nd\ne'), 'OK');
    const before = await topicStats(broker, topic);
    expect({ depth: before.depth, backend: before.backend_depth }).toEqual({ depth: 5, backend: 3 });
    await expectError(post(broker, '/topic/empty'), 400, 'MISSING_ARG_TOPIC');
    await expectError(post(broker, '/topic/empty?topic=bad$'), 400, 'INVALID_TOPIC');
    await expectError(post(broker, `/topic/empty?topic=${topic}_nope`), 404, 'TOPIC_NOT_FOUND');
    await expectOk(post(broker, `/topic/empty?topic=${topic}`));
    const after = await topicStats(broker, topic);
    expect({ depth: after.depth, backend: after.backend_depth, messages: after.message_count }).toEqual({ depth: 0, backend: 0, messages: 5 });
    // Nothing flows to a channel created afterwards; new messages do.
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    await expectOk(post(broker, `/pub?topic=${topic}`, 'fresh'), 'OK');
    expect((await sub.nextMessage()).body.toString()).toBe('fresh');
    await expectNothingDelivered(sub);
  });

  it('pause holds messages at the topic; unpause lets them flow', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    await expectError(post(broker, '/topic/pause'), 400, 'MISSING_ARG_TOPIC');
    await expectError(post(broker, `/topic/pause?topic=${topic}_nope`), 404, 'TOPIC_NOT_FOUND');
    await expectError(post(broker, `/topic/unpause?topic=${topic}_nope`), 404, 'TOPIC_NOT_FOUND');
    await expectOk(post(broker, `/topic/pause?topic=${topic}`));
    await expectOk(post(broker, `/pub?topic=${topic}`, 'held'), 'OK');
    const stats = await topicStats(broker, topic);
    expect({ paused: stats.paused, depth: stats.depth, channelDepth: stats.channels[0].depth }).toEqual({ paused: true, depth: 1, channelDepth: 0 });
    await expectNothingDelivered(sub);
    await expectOk(post(broker, `/topic/unpause?topic=${topic}`));
    expect((await sub.nextMessage()).body.toString()).toBe('held');
    expect((await topicStats(broker, topic)).paused).toBe(false);
  });
});

describe('/channel/*', () => {
  it('create, delete: status codes and effects', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    await expectError(post(broker, '/channel/create?channel=c'), 400, 'MISSING_ARG_TOPIC');
    await expectError(post(broker, '/channel/create?topic=bad$&channel=c'), 400, 'INVALID_ARG_TOPIC');
    await expectError(post(broker, `/channel/create?topic=${topic}`), 400, 'MISSING_ARG_CHANNEL');
    await expectError(post(broker, `/channel/create?topic=${topic}&channel=bad$`), 400, 'INVALID_ARG_CHANNEL');
    await expectError(post(broker, `/channel/create?topic=${topic}&channel=c`), 404, 'TOPIC_NOT_FOUND');
    await expectOk(post(broker, `/topic/create?topic=${topic}`));
    await expectOk(post(broker, `/channel/create?topic=${topic}&channel=c`));
    expect((await channelStats(broker, topic, 'c')).channel_name).toBe('c');
    // A channel created over HTTP receives what is published next.
    await expectOk(post(broker, `/pub?topic=${topic}`, 'x'), 'OK');
    expect((await channelStats(broker, topic, 'c')).depth).toBe(1);

    await expectError(post(broker, `/channel/delete?topic=${topic}`), 400, 'MISSING_ARG_CHANNEL');
    await expectError(post(broker, `/channel/delete?topic=${topic}_nope&channel=c`), 404, 'TOPIC_NOT_FOUND');
    await expectError(post(broker, `/channel/delete?topic=${topic}&channel=nope`), 404, 'CHANNEL_NOT_FOUND');
    await expectOk(post(broker, `/channel/delete?topic=${topic}&channel=c`));
    expect(await channelStats(broker, topic, 'c')).toBeUndefined();
  });

  it('delete removes its disk files, and nsqd.dat forgets it', async () => {
    const broker = await fixture.start({ memQueueSize: 0 });
    const topic = uniqueName();
    const dataPath = broker.nsqd.options.dataPath;
    await expectOk(post(broker, `/topic/create?topic=${topic}`));
    await expectOk(post(broker, `/channel/create?topic=${topic}&channel=c`));
    await expectOk(post(broker, `/pub?topic=${topic}`, 'on disk'), 'OK');
    expect(readdirSync(dataPath).some((f) => f.startsWith(`${topic}:c.diskqueue.`))).toBe(true);
    await expectOk(post(broker, `/channel/delete?topic=${topic}&channel=c`));
    expect(readdirSync(dataPath).filter((f) => f.startsWith(`${topic}:c.`))).toEqual([]);
    const saved = JSON.parse(readFileSync(join(dataPath, 'nsqd.dat'), 'utf8'));
    expect(saved.topics.find((t: Json) => t.name === topic).channels).toEqual([]);
  });

  it('delete closes its consumers', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const gone = await fixture.subscriber(broker.tcpAddress, topic, 'gone', 1);
    const kept = await fixture.subscriber(broker.tcpAddress, topic, 'kept', 1);
    await expectOk(post(broker, `/channel/delete?topic=${topic}&channel=gone`));
    await gone.waitClosed();
    expect(kept.closed).toBe(false);
    await expectOk(post(broker, `/pub?topic=${topic}`, 'still'), 'OK');
    expect((await kept.nextMessage()).body.toString()).toBe('still');
  });

  it('pause stops delivery (in flight unaffected); unpause resumes', async () => {
    const broker = await fixture.start();
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 10);
    await expectOk(post(broker, `/pub?topic=${topic}`, 'before'), 'OK');
    const inFlight = await sub.nextMessage();
    await expectError(post(broker, `/channel/pause?topic=${topic}&channel=nope`), 404, 'CHANNEL_NOT_FOUND');
    await expectError(post(broker, `/channel/pause?topic=${topic}`), 400, 'MISSING_ARG_CHANNEL');
    await expectOk(post(broker, `/channel/pause?topic=${topic}&channel=c`));
    await expectOk(post(broker, `/pub?topic=${topic}`, 'during'), 'OK');
    await expectNothingDelivered(sub);
    const paused = await channelStats(broker, topic, 'c');
    expect({ paused: paused.paused, depth: paused.depth, inFlight: paused.in_flight_count }).toEqual({ paused: true, depth: 1, inFlight: 1 });
    // FIN of the in-flight message still works while paused.
    sub.send(encodeFin(inFlight.id));
    await expectNothingDelivered(sub);
    await expectOk(post(broker, `/channel/unpause?topic=${topic}&channel=c`));
    expect((await sub.nextMessage()).body.toString()).toBe('during');
    expect((await channelStats(broker, topic, 'c')).paused).toBe(false);
  });

  it('empty drops waiting, in-flight and deferred messages; a later FIN gets E_FIN_FAILED', async () => {
    const broker = await fixture.start({ memQueueSize: 2 });
    const topic = uniqueName();
    const sub = await fixture.subscriber(broker.tcpAddress, topic, 'c', 2);
    await expectOk(post(broker, `/mpub?topic=${topic}`, 'a\nb\nc\nd\ne\nf'), 'OK');
    const held = [await sub.nextMessage(), await sub.nextMessage()];
    sub.send(encodeDpub(topic, 60_000, Buffer.from('deferred')));
    await sub.expectResponse('OK');
    const before = await channelStats(broker, topic, 'c');
    expect({ depth: before.depth, inFlight: before.in_flight_count, deferred: before.deferred_count }).toEqual({ depth: 4, inFlight: 2, deferred: 1 });
    expect(before.backend_depth).toBeGreaterThan(0);

    await expectError(post(broker, `/channel/empty?topic=${topic}&channel=nope`), 404, 'CHANNEL_NOT_FOUND');
    await expectOk(post(broker, `/channel/empty?topic=${topic}&channel=c`));
    const after = await channelStats(broker, topic, 'c');
    expect({ depth: after.depth, backend: after.backend_depth, inFlight: after.in_flight_count, deferred: after.deferred_count }).toEqual({
      depth: 0,
      backend: 0,
      inFlight: 0,
      deferred: 0,
    });
    expect(after.clients[0].in_flight_count).toBe(0);

    sub.send(encodeFin(held[0]!.id));
    await sub.expectError(`E_FIN_FAILED FIN ${held[0]!.id} failed ID not in flight`);
    // The connection stays open and, its in-flight count reset, gets new messages at once.
    await expectOk(post(broker, `/pub?topic=${topic}`, 'new'), 'OK');
    const next = await sub.nextMessage();
    expect(next.body.toString()).toBe('new');
    sub.send(encodeFin(next.id));
    await expectNothingDelivered(sub);
  });
});

describe('/config/:opt', () => {
  it('GET: durations in nanoseconds, strings raw, the rest as JSON; unknown → 400 INVALID_OPTION', async () => {
    const broker = await fixture.start({ msgTimeoutMs: 45_000, memQueueSize: 123 });
    const value = async (name: string): Promise<HttpResponse> => {
      const res = await get(broker, `/config/${name}`);
      expect(res.status, `${name}: ${res.text}`).toBe(200);
      expect(res.headers[NSQ_HEADER]).toBe(NSQ_HEADER_VALUE);
      return res;
    };
    expect((await value('msg_timeout')).text).toBe('45000000000');
    expect((await value('sync_timeout')).text).toBe('2000000000');
    expect((await value('max_req_timeout')).text).toBe('3600000000000');
    expect((await value('mem_queue_size')).text).toBe('123');
    expect((await value('broadcast_address')).text).toBe('127.0.0.1');
    expect((await value('data_path')).text).toBe(broker.nsqd.options.dataPath);
    const addresses = await value('nsqlookupd_tcp_addresses');
    expect(addresses.text).toBe('[]');
    expect(addresses.headers['content-type']).toBe('application/json; charset=utf-8');
    // nsqd's levels run 1 (debug) to 5 (fatal); the default silent logger is past fatal.
    expect((await value('log_level')).text).toBe('5');
    // --node-id's config name is id (cfg:"id" in nsqd/options.go); the broadcast ports are those
    // listened on when left at 0.
    expect((await value('id')).text).toBe(String(broker.nsqd.options.nodeId));
    await expectError(get(broker, '/config/node_id'), 400, 'INVALID_OPTION');
    expect((await value('broadcast_tcp_port')).text).toBe(String(broker.tcpPort));
    expect((await value('broadcast_http_port')).text).toBe(String(broker.httpPort));
    await expectError(get(broker, '/config/no_such_option'), 400, 'INVALID_OPTION');
    await expectError(post(broker, '/config/msg_timeout', '1'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('PUT log_level and nsqlookupd_tcp_addresses; other options and bad values refused', async () => {
    // Debug logging is switched on below: keep it off the test output.
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    const broker = await fixture.start({ logger: pino({ level: 'info' }, discard) });
    const put = (name: string, body: string): Promise<HttpResponse> => httpRequest(broker.httpAddress, 'PUT', `/config/${name}`, body);
    expect((await get(broker, '/config/log_level')).text).toBe('2');
    await expectOk(put('log_level', 'warn'), '3');
    expect((await get(broker, '/config/log_level')).text).toBe('3');
    await expectOk(put('log_level', 'DEBUG'), '1');
    await expectError(put('log_level', 'loud'), 400, 'INVALID_VALUE');
    // lg.ParseLogLevel only lower-cases: a trailing newline is not a level.
    await expectError(put('log_level', 'debug\n'), 400, 'INVALID_VALUE');
    await expectError(put('log_level', ''), 413, 'INVALID_VALUE');

    await expectOk(put('nsqlookupd_tcp_addresses', '["127.0.0.1:1","127.0.0.1:2"]'), '["127.0.0.1:1","127.0.0.1:2"]');
    expect((await get(broker, '/config/nsqlookupd_tcp_addresses')).text).toBe('["127.0.0.1:1","127.0.0.1:2"]');
    await expectError(put('nsqlookupd_tcp_addresses', 'not json'), 400, 'INVALID_VALUE');
    await expectError(put('nsqlookupd_tcp_addresses', '{"a":1}'), 400, 'INVALID_VALUE');
    await expectOk(put('nsqlookupd_tcp_addresses', '[]'), '[]');
    // json.Unmarshal of null leaves the list nil: none, answered null.
    await expectOk(put('nsqlookupd_tcp_addresses', '["127.0.0.1:1"]'), '["127.0.0.1:1"]');
    await expectOk(put('nsqlookupd_tcp_addresses', 'null'), 'null');
    expect((await get(broker, '/config/nsqlookupd_tcp_addresses')).text).toBe('[]');

    await expectError(put('msg_timeout', '1s'), 400, 'INVALID_OPTION');
    await expectError(put('no_such_option', 'x'), 400, 'INVALID_OPTION');
  });
});

describe('routing', () => {
  it('unknown path → 404 NOT_FOUND; wrong method → 405 METHOD_NOT_ALLOWED', async () => {
    const broker = await fixture.start();
    await expectError(get(broker, '/nope'), 404, 'NOT_FOUND');
    await expectError(post(broker, '/topic/nope?topic=x'), 404, 'NOT_FOUND');
    await expectError(post(broker, '/stats'), 405, 'METHOD_NOT_ALLOWED');
    await expectError(post(broker, '/ping'), 405, 'METHOD_NOT_ALLOWED');
    await expectError(httpRequest(broker.httpAddress, 'DELETE', '/info'), 405, 'METHOD_NOT_ALLOWED');
    await expectError(get(broker, '/channel/pause?topic=a&channel=b'), 405, 'METHOD_NOT_ALLOWED');
  });

  it("routes as nsqd's httprouter does: Allow, OPTIONS, HEAD, redirects, /config/:opt's one segment", async () => {
    const broker = await fixture.start();
    const call = (method: string, path: string): Promise<HttpResponse> => httpRequest(broker.httpAddress, method, path);
    const allowed = async (method: string, path: string) => (({ status, headers }) => ({ status, allow: headers.allow }))(await call(method, path));
    const moved = async (method: string, path: string) => (({ status, headers }) => ({ status, location: headers.location }))(await call(method, path));
    // A wrong method names the right ones; OPTIONS answers them.
    expect(await allowed('POST', '/stats')).toEqual({ status: 405, allow: 'GET, OPTIONS' });
    expect(await allowed('OPTIONS', '/pub')).toEqual({ status: 200, allow: 'OPTIONS, POST' });
    // HEAD is a method of its own: no GET route answers it.
    expect(await allowed('HEAD', '/ping')).toEqual({ status: 405, allow: 'GET, OPTIONS' });
    // A trailing slash or other letter case redirects: 301 for GET, 307 otherwise, the query kept.
    expect(await moved('GET', '/stats/?format=json')).toEqual({ status: 301, location: '/stats?format=json' });
    expect(await moved('GET', '/Stats')).toEqual({ status: 301, location: '/stats' });
    expect(await moved('POST', '/pub/?topic=t')).toEqual({ status: 307, location: '/pub?topic=t' });
    // /config/:opt takes one non-empty segment; anything else is not found.
    await expectError(get(broker, '/config/'), 404, 'NOT_FOUND');
    await expectError(get(broker, '/config/a/b'), 404, 'NOT_FOUND');
    expect(await moved('GET', '/Config/msg_timeout')).toEqual({ status: 301, location: '/config/msg_timeout' });
    // The redirect's path is escaped again: a decoded €, newline or ? neither breaks the header nor moves.
    for (const [target, location] of [['/Config/%E2%82%AC', '/config/%E2%82%AC'], ['/Config/a%0Ab', '/config/a%0Ab'], ['/Config/a%3Fb', '/config/a%3Fb']]) {
      expect(await moved('GET', target!)).toEqual({ status: 301, location });
    }
    expect(await allowed('OPTIONS', '*')).toEqual({ status: 200, allow: 'GET, OPTIONS, POST, PUT' });
  });
});
