/**
 * Our Consumer and Producer with TLS, snappy, deflate and AUTH, against the bundled broker (or real
 * nsqd when NSQD_BIN is set): each upgrade alone and with TLS, --tls-required, client certificates,
 * AUTH allowed, denied, expired and with the auth server down, and the clear failures.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryLookupd } from '../../client/discovery.ts';
import { publishHttp } from '../../client/http-publish.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import type { ConsumerOptionsInput } from '../../client/options.ts';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';
import { grantAll, startAuthServer, type TestAuthServer } from '../support/auth-server.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certificates.ts';
import { testResources, uniqueTopic, waitFor, type TestBroker } from '../support/brokers.ts';
import { NSQD_BIN } from '../support/nsq-processes.ts';

const { pool, track } = testResources();
let certs: TestCertificates;
let auth: TestAuthServer;

beforeAll(async () => {
  certs = makeTestCertificates();
  auth = await startAuthServer(() => grantAll());
});
afterAll(async () => {
  certs.remove();
  await auth.close();
});

type Connection = Pick<ConsumerOptionsInput, 'tls' | 'snappy' | 'deflate' | 'deflateLevel' | 'authSecret'>;

const tlsBroker = (options: BrokerOptionsInput = {}): Promise<TestBroker> =>
  pool.start({ tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile, httpsAddress: '127.0.0.1:0', ...options });

/**
 * Publishes three messages (one of 300 kB) with PUB, MPUB and DPUB and consumes them with the same
 * connection options; the warnings both clients emitted (none where nsqd turned on what was asked).
 */
async function roundTrip(broker: TestBroker, connection: Connection): Promise<Array<{ code: string; message: string }>> {
  const topic = uniqueTopic();
  const warnings: Array<{ code: string; message: string }> = [];
  const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], ...connection }));
  producer.on('warning', (warning) => warnings.push(warning));
  const big = 'y'.repeat(300_000);
  await producer.publish(topic, 'one');
  await producer.publishMany(topic, [big, 'three']);
  await producer.publishDeferred(topic, 'four', 1);
  const received: string[] = [];
  const consumer = track(
    new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 10, ...connection }, (m) => {
      received.push(m.text());
    }),
  );
  consumer.on('warning', (warning) => warnings.push(warning));
  consumer.start();
  await waitFor(() => received.length === 4, '4 messages');
  expect(received.sort()).toEqual([big, 'four', 'one', 'three'].sort());
  return warnings;
}

/** The error a producer's publish gets: a refusal another try would meet again is the connection's own, with its code. */
async function publishError(broker: TestBroker, connection: Connection): Promise<unknown> {
  const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], connectTimeoutMs: 3000, ...connection }));
  producer.on('error', () => undefined);
  return producer.publish(uniqueTopic(), 'x').then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('client TLS and compression', () => {
  it('TLS alone, verifying the broker against the CA', async () => {
    await roundTrip(await tlsBroker(), { tls: { ca: certs.ca } });
  });

  it('snappy, and deflate at levels 1 and 9 (broker with --max-deflate-level 9)', async () => {
    const broker = await pool.start({ maxDeflateLevel: 9 });
    expect(await roundTrip(broker, { snappy: true })).toEqual([]);
    expect(await roundTrip(broker, { deflate: true, deflateLevel: 1 })).toEqual([]);
    expect(await roundTrip(broker, { deflate: true, deflateLevel: 9 })).toEqual([]);
  });

  it('compression nsqd does not turn on (--snappy=false, --deflate=false): uncompressed, one warning per connection', async () => {
    const broker = await pool.start({ snappy: false, deflate: false });
    for (const kind of ['snappy', 'deflate'] as const) {
      const warning = { code: 'W_COMPRESSION_DECLINED', message: `${broker.tcpAddress} did not turn on ${kind} (nsqd runs with --${kind}=false): this connection is not compressed` };
      expect(await roundTrip(broker, { [kind]: true })).toEqual([warning, warning]);
    }
  });

  it('TLS + snappy and TLS + deflate', async () => {
    const broker = await tlsBroker();
    await roundTrip(broker, { tls: { ca: certs.ca }, snappy: true });
    await roundTrip(broker, { tls: { ca: certs.ca }, deflate: true });
  });

  it('--tls-required: TLS clients work, a plain one gets nsqd\'s error', async () => {
    const broker = await tlsBroker({ tlsRequired: 'true' });
    await roundTrip(broker, { tls: { ca: certs.ca } });
    expect(await publishError(broker, {})).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('(TLS required)') });
  });

  it('a SUB nsqd refuses is a failed attempt: never "connected", one error each, retried with a growing delay', async () => {
    const broker = await tlsBroker({ tlsRequired: 'true' });
    const events: Array<[string, number, string?]> = [];
    const started = Date.now();
    const consumer = track(new Consumer({ topic: uniqueTopic(), channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], reconnectInitialDelayMs: 100 }, () => {}));
    consumer.on('connected', () => events.push(['connected', Date.now() - started]));
    consumer.on('error', (error) => events.push(['error', Date.now() - started, (error as { code?: string }).code]));
    consumer.start();
    await waitFor(() => events.filter(([kind]) => kind === 'error').length >= 4, 'four refused attempts');
    expect(events.filter(([kind]) => kind === 'connected')).toEqual([]);
    const errors = events.filter(([kind]) => kind === 'error');
    expect(errors.map(([, , code]) => code)).toEqual(errors.map(() => 'E_INVALID'));
    // 100, 200, 400 ms apart (each attempt's own time aside): the third gap well past the first.
    const gaps = errors.slice(1).map(([, at], index) => at - errors[index]![1]);
    expect(gaps[2]!, gaps.join(', ')).toBeGreaterThan(gaps[0]! + 150);
  });

  it('require-verify: a CA-signed client certificate is let in; a stranger\'s fails the connection, not by hanging; none is E_TLS_FAILED saying what nsqd wants', async () => {
    const broker = await tlsBroker({ tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caFile });
    await roundTrip(broker, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    // A stranger's certificate: nsqd's alert says so (the bundled broker, on Node's TLS server, can only close).
    const stranger = await publishError(broker, { tls: { ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey } });
    expect(stranger).toBeInstanceOf(Error);
    if (NSQD_BIN !== undefined) expect(stranger).toMatchObject({ code: 'E_TLS_FAILED', message: expect.stringContaining("nsqd refused this client's certificate: it runs with --tls-client-auth-policy") });
    // None: the refusal is an alert from OpenSSL, said as E_TLS_FAILED on one line with what nsqd wants.
    const refused = { code: 'E_TLS_FAILED', message: expect.stringMatching(/^[^\n]*nsqd wants a client certificate \(it runs with --tls-client-auth-policy\) and none was sent: [^\n]*--tls-root-ca-file[^\n]*$/) };
    expect(await publishError(broker, { tls: { ca: certs.ca } })).toMatchObject(refused);
  });

  it('a broker certificate the CA did not sign is E_TLS_FAILED; tls on a broker without TLS is E_TLS_FAILED', async () => {
    expect(await publishError(await tlsBroker(), { tls: { ca: certs.otherCa } })).toMatchObject({ code: 'E_TLS_FAILED' });
    expect(await publishError(await pool.start(), { tls: true })).toMatchObject({ code: 'E_TLS_FAILED' });
  });

  it('refuses snappy and deflate together in the options', () => {
    expect(() => new Producer({ nsqdTcpAddresses: ['127.0.0.1:4150'], snappy: true, deflate: true })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTIONS' }),
    );
  });
});

describe('client AUTH', () => {
  it('authenticates when the broker asks, over TLS too, and the auth server sees the client certificate\'s CN', async () => {
    auth.answer = (params) => (params.secret === 'open' ? grantAll() : { kind: 'status', status: 403 });
    const broker = await tlsBroker({ authHttpAddresses: [auth.address], tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caFile });
    auth.requests.length = 0;
    await roundTrip(broker, { authSecret: 'open', tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    expect(auth.requests[0]?.params).toMatchObject({ secret: 'open', tls: 'true', common_name: 'client-1' });
  });

  it('fails clearly without a secret, on a denied secret, and with the auth server down', async () => {
    const broker = await pool.start({ authHttpAddresses: [auth.address] });
    expect(await publishError(broker, {})).toMatchObject({ code: 'E_AUTH_REQUIRED' });
    auth.answer = () => ({ kind: 'status', status: 403 });
    expect(await publishError(broker, { authSecret: 'nope' })).toMatchObject({ code: 'E_AUTH_FAILED' });
    auth.answer = () => ({ kind: 'grant', ttl: 60, authorizations: [{ topic: '^elsewhere$', channels: ['.*'], permissions: ['publish'] }] });
    expect(await publishError(broker, { authSecret: 'narrow' })).toMatchObject({ code: 'E_UNAUTHORIZED' });
    const down = await pool.start({ authHttpAddresses: ['127.0.0.1:1'] });
    expect(await publishError(down, { authSecret: 'any' })).toMatchObject({ code: 'E_AUTH_FAILED' });
  });

  it('a grant that expires is fetched again by the broker; when the auth server then fails, the publish gets E_AUTH_FAILED', async () => {
    auth.answer = () => grantAll(1);
    const broker = await pool.start({ authHttpAddresses: [auth.address] });
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], authSecret: 'short' }));
    producer.on('error', () => undefined);
    const topic = uniqueTopic();
    await producer.publish(topic, 'first');
    const before = auth.requests.length;
    await waitFor(() => producer.publish(topic, 'again').then(() => auth.requests.length > before), 'the grant fetched again after its ttl');
    auth.answer = () => ({ kind: 'status', status: 500 });
    let failure: unknown;
    await waitFor(
      () =>
        producer.publish(topic, 'refused').then(
          () => false,
          (error: unknown) => ((failure = error), true),
        ),
      'a publish refused once the grant expired and the auth server fails',
    );
    expect(failure).toMatchObject({ code: 'E_AUTH_FAILED' });
  });

  it('authenticates again after a reconnect', async () => {
    auth.answer = () => grantAll();
    const broker = await pool.start({ authHttpAddresses: [auth.address] });
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], authSecret: 'again' }));
    const topic = uniqueTopic();
    await producer.publish(topic, 'before');
    const before = auth.requests.length;
    await broker.restart();
    await waitFor(
      () =>
        producer.publish(topic, 'after').then(
          () => true,
          () => false,
        ),
      'a publish after the restart',
    );
    expect(auth.requests.length).toBeGreaterThan(before);
    expect(auth.requests.at(-1)?.params.secret).toBe('again');
  });
});

describe('client HTTP over TLS', () => {
  it('publishHttp to an https address, and from plain HTTP through nsqd\'s 403 TLS_REQUIRED to its https port', async () => {
    const broker = await tlsBroker({ tlsRequired: 'true' });
    const topic = uniqueTopic();
    const stats = await fetch(`http://${broker.httpAddress}/stats`);
    expect(stats.status).toBe(403);
    await publishHttp(broker.httpAddress, topic, 'redirected', { tls: { ca: certs.ca } });
    await publishHttp(`https://localhost:${await httpsPort(broker)}`, topic, ['a', 'b'], { tls: { ca: certs.ca } });
    const received: string[] = [];
    track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], tls: { ca: certs.ca } }, (m) => {
        received.push(m.text());
      }),
    ).start();
    await waitFor(() => received.length === 3, '3 messages');
    await expect(publishHttp(broker.httpAddress, topic, 'x', { tls: { ca: certs.otherCa } })).rejects.toMatchObject({ code: 'E_CONNECTION_CLOSED' });
  });

  it('queries a lookupd served over https with the consumer\'s TLS options', async () => {
    const server = createServer({ cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile) }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ channels: [], producers: [{ broadcast_address: '10.0.0.1', tcp_port: 4150 }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await queryLookupd(address, 't', 5000, { ca: certs.ca })).toEqual(['10.0.0.1:4150']);
      await expect(queryLookupd(address, 't', 5000, { ca: certs.otherCa })).rejects.toMatchObject({ code: 'E_LOOKUP_FAILED' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** The broker's HTTPS port, read from the TLS_REQUIRED answer of its plain HTTP port. */
async function httpsPort(broker: TestBroker): Promise<number> {
  const answer = (await (await fetch(`http://${broker.httpAddress}/ping`)).json()) as { https_port: number };
  return answer.https_port;
}
