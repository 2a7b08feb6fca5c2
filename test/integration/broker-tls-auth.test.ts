/**
 * The bundled broker's TLS, snappy, deflate and AUTH edges on raw connections: nsqd's exact errors,
 * bad streams and bad auth servers closing only the connection concerned, and the /config reads.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { constants, createInflateRaw, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';
import { startBroker } from '../../broker/nsqd/server.ts';
import { MAGIC_V2, encodeAuth, encodeIdentify, encodeMpub, encodePub, encodeSub } from '../../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../../protocol/frames.ts';
import { SNAPPY_STREAM_IDENTIFIER, SnappyFrameDecoder, SnappyFrameEncoder } from '../../protocol/snappy-framing.ts';
import { grantAll, startAuthServer, type TestAuthServer } from '../support/auth-server.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certificates.ts';
import { BrokerFixture, uniqueName } from './helpers/broker-tcp-fixture.ts';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(() => certs.remove());

/**
 * `it` with a `start` of its own: the brokers a test starts close when that test ends, so that the
 * tests of a `describe.concurrent` (TLS's, one of which waits out nsqd's 5 s deadline) share their waits.
 */
const it = test.extend<{ start: (options: BrokerOptionsInput) => Promise<BrokerFixture>; auth: TestAuthServer }>({
  // The empty pattern is vitest's: it reads a fixture's dependencies from it (none here).
  start: async ({}, use) => {
    const started: BrokerFixture[] = [];
    try {
      await use(async (options) => {
        const fixture = await BrokerFixture.start(options);
        started.push(fixture);
        return fixture;
      });
    } finally {
      for (const fixture of started) await fixture.close();
    }
  },
  // An auth server of the test's own, granting everything until the test sets its answer.
  auth: async ({}, use) => {
    const auth = await startAuthServer(() => grantAll());
    try {
      await use(auth);
    } finally {
      await auth.close();
    }
  },
});

/** Publishing and consuming still work for a fresh client: one bad connection hurt no one else. */
async function expectServing(f: BrokerFixture): Promise<void> {
  const topic = uniqueName('alive');
  const sub = await f.subscriber(topic, 'ch', 1);
  await f.publish(topic, 'still here');
  expect((await sub.nextMessage()).body.toString()).toBe('still here');
}

/** A raw socket that negotiated compression: decoded frames, in order. */
async function compressedClient(f: BrokerFixture, identify: object): Promise<{ socket: Socket; answer: Record<string, unknown>; frames: Array<{ type: number; data: string }>; closed: Promise<unknown> }> {
  const socket = connect(f.broker.tcpPort, '127.0.0.1');
  await once(socket, 'connect');
  const frames: Array<{ type: number; data: string }> = [];
  let answer: Record<string, unknown> = {};
  const decoder = new FrameDecoder((type, data) => frames.push({ type, data: data.toString() }));
  socket.write(Buffer.concat([MAGIC_V2, encodeIdentify({ feature_negotiation: true, ...identify })]));
  const [first] = (await once(socket, 'data')) as [Buffer];
  // The JSON answer is plain; whatever follows it in the same read is already compressed.
  const jsonLength = first.readInt32BE(0) + 4;
  answer = JSON.parse(first.subarray(8, jsonLength).toString()) as Record<string, unknown>;
  const rest = first.subarray(jsonLength);
  if (answer.snappy === true) {
    const snappy = new SnappyFrameDecoder();
    const feed = (chunk: Buffer): void => snappy.push(chunk).forEach((piece) => decoder.push(piece));
    feed(rest);
    socket.on('data', feed);
  } else {
    const inflate = createInflateRaw();
    inflate.on('data', (chunk: Buffer) => decoder.push(chunk));
    inflate.on('error', () => undefined);
    inflate.write(rest);
    socket.on('data', (chunk: Buffer) => inflate.write(chunk));
  }
  socket.on('error', () => undefined);
  return { socket, answer, frames, closed: once(socket, 'close') };
}

async function framesUntil(frames: Array<{ type: number; data: string }>, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (frames.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${frames.length} frames: ${JSON.stringify(frames)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.concurrent('compression on raw connections', () => {
  it('deflate: level 9 is capped to 6 by default, the OK comes compressed, and commands go compressed', async ({ start }) => {
    const f = await start({});
    const client = await compressedClient(f, { deflate: true, deflate_level: 9 });
    expect(client.answer).toMatchObject({ deflate: true, deflate_level: 6, max_deflate_level: 6, snappy: false });
    await framesUntil(client.frames, 1);
    expect(client.frames[0]).toEqual({ type: FrameType.Response, data: 'OK' });
    client.socket.write(deflateRawSync(encodePub(uniqueName('d'), Buffer.from('x')), { finishFlush: constants.Z_SYNC_FLUSH }));
    await framesUntil(client.frames, 2);
    expect(client.frames[1]).toEqual({ type: FrameType.Response, data: 'OK' });
  });

  it('deflate: a bomb whose body exceeds --max-msg-size is cut with nsqd\'s error; others are served', async ({ start }) => {
    const f = await start({ maxMsgSize: 1024 * 1024 });
    const client = await compressedClient(f, { deflate: true });
    await framesUntil(client.frames, 1);
    const size = 64 * 1024 * 1024;
    const header = Buffer.from(`PUB ${uniqueName('bomb')}\n\0\0\0\0`);
    header.writeInt32BE(size, header.length - 4);
    const bomb = deflateRawSync(Buffer.concat([header, Buffer.alloc(size)]), { level: 9 });
    expect(bomb.length).toBeLessThan(size / 500);
    client.socket.write(bomb);
    await client.closed;
    // The test's own inflater may still hold the last bytes the broker sent before it closed.
    await framesUntil(client.frames, 2);
    expect(client.frames[1]).toEqual({ type: FrameType.Error, data: `E_BAD_MESSAGE PUB message too big ${size} > ${1024 * 1024}` });
    await expectServing(f);
  });

  it('snappy: the OK follows the stream identifier; a corrupt chunk closes that connection only', async ({ start }) => {
    const f = await start({});
    const client = await compressedClient(f, { snappy: true });
    expect(client.answer).toMatchObject({ snappy: true, deflate: false });
    await framesUntil(client.frames, 1);
    expect(client.frames[0]).toEqual({ type: FrameType.Response, data: 'OK' });
    client.socket.write(Buffer.concat([SNAPPY_STREAM_IDENTIFIER, Buffer.from([0x01, 0x08, 0, 0, 1, 2, 3, 4, 0x4e, 0x4f, 0x50, 0x0a])]));
    await client.closed;
    await expectServing(f);
  });

  it('snappy: commands before a corrupt chunk in the same read are carried out and answered, then the connection closes', async ({ start }) => {
    const f = await start({});
    const topic = uniqueName('before_damage');
    const sub = await f.subscriber(topic, 'ch', 1);
    const client = await compressedClient(f, { snappy: true });
    await framesUntil(client.frames, 1);
    const pub = new SnappyFrameEncoder().encode(encodePub(topic, Buffer.from('kept'))).subarray(SNAPPY_STREAM_IDENTIFIER.length);
    client.socket.write(Buffer.concat([SNAPPY_STREAM_IDENTIFIER, pub, Buffer.from([0x40, 0, 0, 0])]));
    await client.closed;
    expect(client.frames[1]).toEqual({ type: FrameType.Response, data: 'OK' });
    expect((await sub.nextMessage()).body.toString()).toBe('kept');
  });

  it('fuzz: random and mutated bytes after a snappy or deflate upgrade close that connection only', async ({ start }) => {
    const f = await start({});
    for (let round = 0; round < 40; round++) {
      const client = await compressedClient(f, round % 2 === 0 ? { snappy: true } : { deflate: true });
      await framesUntil(client.frames, 1);
      const valid = round % 2 === 0
        ? Buffer.concat([SNAPPY_STREAM_IDENTIFIER, new SnappyFrameEncoder().encode(Buffer.from('NOP\n')).subarray(SNAPPY_STREAM_IDENTIFIER.length)])
        : deflateRawSync(Buffer.from('NOP\n'), { finishFlush: constants.Z_SYNC_FLUSH });
      const noise = Buffer.concat([valid, randomBytes(1 + (round % 7) * 50)]);
      const flip = Math.floor(Math.random() * noise.length);
      noise[flip] = noise[flip]! ^ 0xff;
      // Garbage fails to decode, or decodes to a bad command, or leaves a chunk unfinished until our
      // end of stream: each way the broker closes this connection.
      client.socket.end(noise);
      await client.closed;
    }
    await expectServing(f);
  });

  it('refuses snappy and deflate as nsqd does when both are off: false, and plain frames', async ({ start }) => {
    const f = await start({ snappy: false, deflate: false });
    const client = await f.connect();
    client.send(encodeIdentify({ feature_negotiation: true, snappy: true }));
    expect(JSON.parse((await client.nextFrame()).data.toString())).toMatchObject({ snappy: false, deflate: false });
  });
});

describe.concurrent('TLS on raw connections', () => {
  it('--tls-required refuses every command but IDENTIFY before the upgrade, with nsqd\'s words', async ({ start }) => {
    const f = await start({ tlsRequired: 'tcp-https', tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile });
    for (const command of [encodeSub(uniqueName('t'), 'ch'), Buffer.from('NOP\n'), Buffer.from('BOGUS\n')]) {
      const client = await f.connect();
      client.send(command);
      const name = command.toString().split(/[ \n]/)[0];
      await client.expectError(`E_INVALID cannot ${name} in current state (TLS required)`);
      await client.waitClosed();
    }
    // tcp-https leaves plain HTTP open.
    expect((await fetch(`http://${f.broker.httpAddress}/ping`)).status).toBe(200);
  });

  it('garbage instead of a TLS handshake closes that connection only', async ({ start }) => {
    const f = await start({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile });
    const client = await f.connect();
    client.send(encodeIdentify({ feature_negotiation: true, tls_v1: true }));
    expect(JSON.parse((await client.nextFrame()).data.toString())).toMatchObject({ tls_v1: true });
    client.send(Buffer.alloc(64, 0x41));
    await client.waitClosed();
    await expectServing(f);
  });

  it('a client that never starts the TLS handshake is closed after nsqd\'s 5s deadline; others are served meanwhile', async ({ start }) => {
    const f = await start({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile });
    const client = await f.connect();
    client.send(encodeIdentify({ feature_negotiation: true, tls_v1: true }));
    await client.nextFrame();
    const started = Date.now();
    await expectServing(f);
    await client.waitClosed(8000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
  }, 15_000);

  it('--tls-min-version tls1.3 refuses a TLS 1.2 client', async ({ start }) => {
    const f = await start({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile, tlsMinVersion: 'tls1.3' });
    const raw = connect(f.broker.tcpPort, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(Buffer.concat([MAGIC_V2, encodeIdentify({ feature_negotiation: true, tls_v1: true })]));
    await once(raw, 'data');
    const secure = tlsConnect({ socket: raw, ca: certs.ca, servername: 'localhost', maxVersion: 'TLSv1.2' });
    const [error] = (await once(secure, 'error').catch((e: unknown) => [e])) as [Error];
    expect(String(error)).toMatch(/version|alert/i);
    secure.destroy();
    await expectServing(f);
  });

  it('--tls-min-version tls1.0 lets a TLS 1.0 client in, as nsqd\'s default does (OpenSSL\'s security level lowered)', async ({ start }) => {
    const f = await start({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile, tlsMinVersion: 'tls1.0' });
    const raw = connect(f.broker.tcpPort, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(Buffer.concat([MAGIC_V2, encodeIdentify({ feature_negotiation: true, tls_v1: true })]));
    await once(raw, 'data');
    const secure = tlsConnect({ socket: raw, ca: certs.ca, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    await once(secure, 'secureConnect');
    expect(secure.getProtocol()).toBe('TLSv1');
    secure.destroy();
  });

  it('will not start with TLS required and no certificate', async () => {
    await expect(startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', tlsRequired: true })).rejects.toThrow(
      'cannot require TLS client connections without TLS key and cert',
    );
  });

  it('/config reads answer as nsqd\'s do', async ({ start }) => {
    const f = await start({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile, tlsRequired: 'tcp-https', authHttpAddresses: ['127.0.0.1:1'], httpsAddress: '127.0.0.1:0' });
    const read = async (name: string): Promise<string> => (await fetch(`http://${f.broker.httpAddress}/config/${name}`)).text();
    expect(await read('tls_required')).toBe('1');
    expect(await read('tls_min_version')).toBe('771');
    expect(await read('tls_cert')).toBe(certs.serverCertFile);
    expect(await read('snappy')).toBe('true');
    expect(await read('deflate')).toBe('true');
    expect(await read('max_deflate_level')).toBe('6');
    expect(await read('auth_http_addresses')).toBe('["127.0.0.1:1"]');
    expect(await read('https_address')).toBe('127.0.0.1:0');
  });
});

describe.concurrent('AUTH on raw connections', () => {

  const authed = async (f: BrokerFixture, secret = 's') => {
    const client = await f.connect();
    client.send(encodeIdentify({ feature_negotiation: true }));
    expect(JSON.parse((await client.nextFrame()).data.toString())).toMatchObject({ auth_required: true });
    client.send(encodeAuth(Buffer.from(secret)));
    return client;
  };

  it('answers AUTH with identity, identity_url and permission_count; refuses a second AUTH; publishes pipelined behind AUTH', async ({ start, auth }) => {
    auth.answer = () => grantAll(3600, 'bob');
    const f = await start({ authHttpAddresses: [auth.address] });
    const client = await authed(f);
    client.send(encodePub(uniqueName('p'), Buffer.from('queued behind AUTH')));
    await client.expectResponse('{"identity":"bob","identity_url":"https://auth.example/tester","permission_count":1}');
    await client.expectResponse('OK');
    client.send(encodeAuth(Buffer.from('again')));
    await client.expectError('E_INVALID AUTH already set');
  });

  it('sends the secret to the auth server as the bytes the client sent, in the query nsqd writes', async ({ start, auth }) => {
    auth.answer = () => grantAll(3600, 'bytes');
    auth.requests.length = 0;
    const f = await start({ authHttpAddresses: [auth.address] });
    const client = await f.connect();
    client.send(encodeIdentify({ feature_negotiation: true }));
    await client.nextFrame();
    // "sé ~*" in UTF-8: url.Values.Encode sorts the keys and escapes bytes (space as +, ~ kept, * escaped).
    client.send(encodeAuth(Buffer.from([0x73, 0xc3, 0xa9, 0x20, 0x7e, 0x2a])));
    await client.expectResponse('{"identity":"bytes","identity_url":"https://auth.example/tester","permission_count":1}');
    expect(auth.requests.at(-1)?.query).toBe('common_name=&remote_ip=127.0.0.1&secret=s%C3%A9+~%2A&tls=false');
  });

  it('waits for a slow auth server up to --http-client-request-timeout, not the connect timeout', async ({ start, auth }) => {
    // The connect timeout was the socket's idle timeout for the whole request, as nsqd's is not.
    auth.answer = () => ({ kind: 'later', afterMs: 800, then: grantAll(3600, 'slow') });
    const f = await start({ authHttpAddresses: [auth.address], httpClientConnectTimeoutMs: 300, httpClientRequestTimeoutMs: 5000 });
    const client = await authed(f);
    await client.expectResponse('{"identity":"slow","identity_url":"https://auth.example/tester","permission_count":1}');
  });

  it('E_AUTH_FIRST before AUTH, for SUB and for every publish', async ({ start, auth }) => {
    const f = await start({ authHttpAddresses: [auth.address] });
    for (const [name, command] of [['SUB', encodeSub('t', 'c')], ['PUB', encodePub('t', Buffer.from('x'))]] as const) {
      const client = await f.connect();
      client.send(command);
      await client.expectError(`E_AUTH_FIRST AUTH required before ${name}`);
      await client.waitClosed();
    }
  });

  const failures: Array<[string, TestAuthServer['answer'], string]> = [
    ['no authorizations', () => ({ kind: 'grant', ttl: 60, authorizations: [] }), 'E_UNAUTHORIZED AUTH no authorizations found'],
    ['garbage', () => ({ kind: 'status', status: 200, body: '{not json' }), 'E_AUTH_FAILED AUTH failed'],
    ['an unknown permission', () => ({ kind: 'grant', ttl: 60, authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['admin'] }] }), 'E_AUTH_FAILED AUTH failed'],
    ['a bad regex', () => ({ kind: 'grant', ttl: 60, authorizations: [{ topic: '(', channels: ['.*'], permissions: ['publish'] }] }), 'E_AUTH_FAILED AUTH failed'],
    ['a ttl of 0', () => ({ kind: 'grant', ttl: 0, authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish'] }] }), 'E_AUTH_FAILED AUTH failed'],
    ['no answer in time', () => ({ kind: 'hang' }), 'E_AUTH_FAILED AUTH failed'],
  ];
  for (const [label, answer, error] of failures) {
    it(`an auth server answering with ${label}: ${error}, and only that client is closed`, async ({ start, auth }) => {
      auth.answer = answer;
      const f = await start({ authHttpAddresses: [auth.address], httpClientRequestTimeoutMs: 300 });
      const client = await authed(f);
      await client.expectError(error);
      await client.waitClosed();
      auth.answer = () => grantAll();
      const other = await authed(f);
      await other.nextFrame();
      other.send(encodePub(uniqueName('ok'), Buffer.from('x')));
      await other.expectResponse('OK');
    });
  }

  it('follows an auth server\'s 403 with https_port to its https side, verified with --tls-root-ca-file', async ({ start, auth }) => {
    const secure = createHttpsServer({ cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile) }, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ttl: 60, identity: `https ${new URL(req.url ?? '/', 'https://x').searchParams.get('secret')}`, authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish'] }] }));
    });
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    try {
      const httpsPort = (secure.address() as AddressInfo).port;
      auth.answer = () => ({ kind: 'status', status: 403, body: JSON.stringify({ message: 'TLS_REQUIRED', https_port: httpsPort }) });
      const f = await start({ authHttpAddresses: [auth.address], tlsRootCaFile: certs.caFile });
      const client = await authed(f, 'via-https');
      await client.expectResponse('{"identity":"https via-https","identity_url":"","permission_count":1}');
    } finally {
      secure.closeAllConnections();
      await new Promise((resolve) => secure.close(resolve));
    }
  });

  it("checks MPUB's grant on its line, before its body, as nsqd does", async ({ start, auth }) => {
    auth.answer = () => ({ kind: 'grant', ttl: 60, authorizations: [{ topic: '^allowed$', channels: ['.*'], permissions: ['publish'] }] });
    const f = await start({ authHttpAddresses: [auth.address] });
    // Lines alone, no body: the error comes without it.
    const first = await f.connect();
    first.send(Buffer.from('MPUB allowed\n'));
    await first.expectError('E_AUTH_FIRST AUTH required before MPUB');
    await first.waitClosed();
    const denied = await authed(f);
    await denied.nextFrame();
    denied.send(Buffer.from('MPUB other\n'));
    await denied.expectError('E_UNAUTHORIZED AUTH failed for MPUB on "other" ""');
    await denied.waitClosed();
    const allowed = await authed(f);
    await allowed.nextFrame();
    allowed.send(encodeMpub('allowed', [Buffer.from('a'), Buffer.from('b')]));
    await allowed.expectResponse('OK');
  });

  it('SUB needs subscribe on a matching topic and channel; the channel regex is unanchored', async ({ start, auth }) => {
    // (?i) is Go RE2's flag group: JavaScript has no inline flags, the broker turns it into one.
    auth.answer = () => ({ kind: 'grant', ttl: 60, authorizations: [{ topic: '(?i)^FEED', channels: ['^good'], permissions: ['subscribe'] }] });
    const f = await start({ authHttpAddresses: [auth.address] });
    const ok = await authed(f);
    await ok.nextFrame();
    ok.send(encodeSub('feed_1', 'good_ch'));
    await ok.expectResponse('OK');
    const denied = await authed(f);
    await denied.nextFrame();
    denied.send(encodeSub('feed_1', 'bad_ch'));
    await denied.expectError('E_UNAUTHORIZED AUTH failed for SUB on "feed_1" "bad_ch"');
  });
});
