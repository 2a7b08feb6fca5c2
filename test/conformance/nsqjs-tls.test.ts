/**
 * nsqjs (which speaks TLS, snappy and deflate) against the bundled broker: every upgrade alone and
 * composed with TLS, --tls-required, client certificates with require-verify, and AUTH.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import nsq from 'nsqjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { MAGIC_V2, encodeIdentify } from '../../protocol/commands.ts';
import { grantAll, startAuthServer, type TestAuthServer } from '../support/auth-server.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certificates.ts';

let certs: TestCertificates;
const cleanups: Array<() => unknown> = [];
let topicSeq = 0;
const uniqueTopic = (): string => `nsqjs_tls_${process.pid}_${++topicSeq}`;

beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(() => certs.remove());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(options: BrokerOptionsInput = {}): Promise<BrokerHandle> {
  const dataPath = mkdtempSync(join(tmpdir(), 'nsqworker-nsqjs-tls-'));
  const handle = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', httpsAddress: '127.0.0.1:0', dataPath, ...options });
  cleanups.push(() => rmSync(dataPath, { recursive: true, force: true }));
  cleanups.push(() => handle.close());
  return handle;
}

const tlsBroker = (options: BrokerOptionsInput = {}): Promise<BrokerHandle> =>
  broker({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile, ...options });

type Options = nsq.ConnectionConfigOptions & Record<string, unknown>;

/** Connects a Writer; resolves on 'ready', rejects on the first error or a close before it. */
function writer(b: BrokerHandle, options: Options = {}): Promise<nsq.Writer> {
  const w = new nsq.Writer('127.0.0.1', b.tcpPort, options);
  cleanups.push(() => w.close());
  return new Promise((resolve, reject) => {
    w.once('ready', () => resolve(w));
    w.once('error', reject);
    w.once('closed', () => reject(new Error('closed before ready')));
    w.connect();
  });
}

function publish(w: nsq.Writer, topic: string, msgs: string | string[]): Promise<void> {
  return new Promise((resolve, reject) => w.publish(topic, msgs, (err) => (err ? reject(err) : resolve())));
}

/** Subscribes with nsqjs and resolves with the bodies of the first `count` messages (each finished). */
function consume(b: BrokerHandle, topic: string, count: number, options: Options = {}): Promise<string[]> {
  const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [b.tcpAddress], ...options });
  cleanups.push(() => r.close());
  const bodies: string[] = [];
  return new Promise((resolve, reject) => {
    r.on('error', reject);
    r.on('message', (msg: nsq.Message) => {
      bodies.push(msg.body.toString());
      msg.finish();
      if (bodies.length === count) resolve(bodies);
    });
    r.connect();
  });
}

const verifyingTls: Options = { tls: true, tlsVerification: true, ca: undefined as unknown as Buffer };

async function roundTrip(b: BrokerHandle, options: Options): Promise<void> {
  const topic = uniqueTopic();
  const w = await writer(b, options);
  const big = 'x'.repeat(200_000);
  await publish(w, topic, ['one', big]);
  await publish(w, topic, 'three');
  expect(await consume(b, topic, 3, options)).toEqual(['one', big, 'three']);
}

/** IDENTIFY with tls_v1 on a raw connection, then a TLS handshake with `options`; resolves once the broker's OK arrives over TLS. */
async function tlsHandshake(b: BrokerHandle, options: { cert?: Buffer; key?: Buffer }): Promise<void> {
  const raw = connect(b.tcpPort, '127.0.0.1');
  cleanups.push(() => raw.destroy());
  await once(raw, 'connect');
  raw.write(Buffer.concat([MAGIC_V2, encodeIdentify({ feature_negotiation: true, tls_v1: true })]));
  await once(raw, 'data'); // the JSON answer, in plain text
  const secure = tlsConnect({ socket: raw, ca: certs.ca, servername: 'localhost', ...options });
  cleanups.push(() => secure.destroy());
  await new Promise<void>((resolve, reject) => {
    secure.once('error', reject);
    secure.once('close', () => reject(new Error('socket hang up')));
    secure.once('data', (data: Buffer) => (data.subarray(8).toString() === 'OK' ? resolve() : reject(new Error(data.toString()))));
  });
}

interface StatsClient {
  tls: boolean;
  tls_version: string;
  snappy: boolean;
  deflate: boolean;
  authed?: boolean;
  auth_identity?: string;
}

async function producerStats(b: BrokerHandle): Promise<StatsClient[]> {
  const stats = (await (await fetch(`http://${b.httpAddress}/stats?format=json`)).json()) as { producers: StatsClient[] };
  return stats.producers;
}

describe('nsqjs over TLS, snappy and deflate', () => {
  beforeAll(() => {
    verifyingTls.ca = certs.ca;
  });

  it('TLS alone, with the server certificate verified against the CA', async () => {
    const b = await tlsBroker();
    await roundTrip(b, verifyingTls);
    const [producer] = await producerStats(b);
    expect(producer).toMatchObject({ tls: true, snappy: false, deflate: false });
    expect(producer!.tls_version).toMatch(/^TLS1\.[23]$/);
  });

  it('snappy alone (offered by default)', async () => {
    const b = await broker();
    await roundTrip(b, { snappy: true });
    expect(await producerStats(b)).toMatchObject([{ tls: false, snappy: true, deflate: false }]);
  });

  for (const level of [1, 9]) {
    it(`deflate at level ${level} on a broker with --max-deflate-level 9`, async () => {
      const b = await broker({ maxDeflateLevel: 9 });
      await roundTrip(b, { deflate: true, deflateLevel: level });
      expect(await producerStats(b)).toMatchObject([{ deflate: true, snappy: false }]);
    });
  }

  it('deflate at level 9 on a default broker (capped at 6)', async () => {
    const b = await broker();
    await roundTrip(b, { deflate: true, deflateLevel: 9 });
  });

  it('TLS + snappy, and TLS + deflate', async () => {
    const b = await tlsBroker();
    await roundTrip(b, { ...verifyingTls, snappy: true });
    await roundTrip(b, { ...verifyingTls, deflate: true, deflateLevel: 3 });
  });

  it('--tls-required: a plain client is refused, a TLS client works, plain HTTP answers 403 with the https port', async () => {
    const b = await tlsBroker({ tlsRequired: 'true' });
    const plain = await writer(b, {});
    await expect(publish(plain, uniqueTopic(), 'x')).rejects.toThrow(/E_INVALID cannot PUB in current state \(TLS required\)/);
    await roundTrip(b, verifyingTls);
    const refused = await fetch(`http://${b.httpAddress}/ping`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe(`{"message": "TLS_REQUIRED", "https_port": ${b.httpsPort}}`);
  });

  it('--tls-client-auth-policy require-verify: a CA-signed client certificate is let in, none is refused', async () => {
    const b = await tlsBroker({ tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caFile });
    await roundTrip(b, { ...verifyingTls, cert: certs.clientCert, key: certs.clientKey });
    // nsqjs leaves the TLS socket's error unhandled when the broker refuses it: use Node's TLS client.
    await expect(tlsHandshake(b, {})).rejects.toThrow(/certificate required|socket hang up|ECONNRESET/);
    await expect(tlsHandshake(b, { cert: certs.strangerCert, key: certs.strangerKey })).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET/);
    await tlsHandshake(b, { cert: certs.clientCert, key: certs.clientKey });
  });
});

describe('nsqjs with AUTH', () => {
  let auth: TestAuthServer;
  beforeAll(async () => {
    auth = await startAuthServer(() => grantAll());
  });
  afterAll(() => auth.close());

  it('publishes and consumes with a secret the auth server accepts, and nsqd sends what nsqd sends', async () => {
    auth.answer = (params) => (params.secret === 'let-me-in' ? grantAll(3600, 'alice') : { kind: 'status', status: 403 });
    const b = await broker({ authHttpAddresses: [auth.address] });
    auth.requests.length = 0;
    await roundTrip(b, { authSecret: 'let-me-in' });
    expect(auth.requests[0]).toEqual({
      path: '/auth',
      query: 'common_name=&remote_ip=127.0.0.1&secret=let-me-in&tls=false',
      params: { remote_ip: '127.0.0.1', tls: 'false', secret: 'let-me-in', common_name: '' },
      accept: 'application/vnd.nsq; version=1.0',
    });
    expect(await producerStats(b)).toMatchObject([{ authed: true, auth_identity: 'alice' }]);
  });

  it('is refused when the auth server refuses, has no grant for the topic, or is down', async () => {
    const b = await broker({ authHttpAddresses: [auth.address] });
    auth.answer = () => ({ kind: 'status', status: 403 });
    await expect(writer(b, { authSecret: 'wrong' })).rejects.toThrow(/E_AUTH_FAILED AUTH failed/);
    auth.answer = () => ({ kind: 'grant', ttl: 60, authorizations: [{ topic: '^other$', channels: ['.*'], permissions: ['publish'] }] });
    const w = await writer(b, { authSecret: 'narrow' });
    await expect(publish(w, uniqueTopic(), 'x')).rejects.toThrow(/E_UNAUTHORIZED AUTH failed for PUB on "nsqjs_tls_\d+_\d+" ""/);
    const down = await broker({ authHttpAddresses: ['127.0.0.1:1'] });
    await expect(writer(down, { authSecret: 'any' })).rejects.toThrow(/E_AUTH_FAILED AUTH failed/);
  });

  it('asks the auth server again once the grant has expired', async () => {
    auth.answer = () => grantAll(1);
    const b = await broker({ authHttpAddresses: [auth.address] });
    const w = await writer(b, { authSecret: 'short' });
    const topic = uniqueTopic();
    await publish(w, topic, 'a');
    const before = auth.requests.length;
    const deadline = Date.now() + 5000;
    // Publish until the 1s grant has expired and been fetched again.
    while (auth.requests.length === before && Date.now() < deadline) await publish(w, topic, 'b');
    expect(auth.requests.length).toBe(before + 1);
    auth.answer = () => ({ kind: 'status', status: 500 });
    const deadline2 = Date.now() + 5000;
    let failure: unknown;
    while (failure === undefined && Date.now() < deadline2) await publish(w, topic, 'c').catch((error: unknown) => (failure = error));
    expect(String(failure)).toMatch(/E_AUTH_FAILED AUTH failed/);
  });
});
