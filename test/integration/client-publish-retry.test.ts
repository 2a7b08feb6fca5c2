/**
 * The Producer's `retry` option: a publish that no nsqd took, or that a broker refused, is sent
 * again with backoff on the next nsqd; without the option it fails at once, as before.
 */
import { describe, expect, it } from 'vitest';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { isRetryablePublishError, retryDelayMs, PublishRetrySchema } from '../../client/publish-retry.ts';
import { ClientErrorCode, NsqClientError } from '../../client/errors.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { testResources, uniqueTopic, waitFor } from '../support/brokers.ts';
import { grantAll, startAuthServer } from '../support/auth-server.ts';

const { pool, track } = testResources();

describe('Producer retry', () => {
  it('retries a publish whose AUTH failed while the auth server was down, and it goes through once it answers', async () => {
    let up = false;
    const auth = await startAuthServer(() => (up ? grantAll() : { kind: 'status', status: 500 }));
    try {
      const broker = await pool.start({ authHttpAddresses: [auth.address] });
      const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], authSecret: 's', retry: { attempts: 20, initialDelayMs: 20, maxDelayMs: 50 } }));
      producer.on('error', () => {});
      const published = producer.publish(uniqueTopic(), 'x');
      await waitFor(() => auth.requests.length > 0, 'a first AUTH');
      up = true;
      await expect(published).resolves.toBeUndefined();
    } finally {
      await auth.close();
    }
  });

  it('without retry, a publish while the broker is down rejects with the connection error', async () => {
    const broker = await pool.start();
    const address = broker.tcpAddress;
    await broker.stop();
    const producer = track(new Producer({ nsqdTcpAddresses: [address] }));
    await expect(producer.publish(uniqueTopic(), 'x')).rejects.toMatchObject({ code: ClientErrorCode.ConnectionClosed });
  });

  it('with retry, a publish made while the broker restarts is delivered once it is back', async () => {
    const broker = await pool.start();
    const topic = uniqueTopic();
    const { tcpAddress, httpAddress } = broker.handle;
    await broker.stop();
    const producer = track(new Producer({ nsqdTcpAddresses: [tcpAddress], retry: { attempts: 50, initialDelayMs: 20, maxDelayMs: 100 } }));
    const errors: Error[] = [];
    producer.on('error', (error) => errors.push(error));
    const published = producer.publish(topic, 'survives a restart');
    // The first attempt has failed (the producer reported it) before the broker comes back.
    await waitFor(() => errors.length > 0, 'a failed attempt');
    const { startBroker } = await import('../../broker/nsqd/server.ts');
    broker.handle = await startBroker({ tcpAddress, httpAddress, dataPath: broker.dataPath, broadcastAddress: '127.0.0.1' });
    await published;
    const received: string[] = [];
    track(new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [tcpAddress] }, (message) => void received.push(message.text()))).start();
    await waitFor(() => received.length === 1, 'the message');
    expect(received).toEqual(['survives a restart']);
  });

  it('fails over to the next nsqd and rejects with the last error when every attempt fails', async () => {
    const down = await pool.start();
    const downAddress = down.tcpAddress;
    await down.stop();
    const up = await pool.start();
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [downAddress, up.tcpAddress], retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } }));
    await producer.publish(topic, 'to the live one');
    expect(producer.address).toBe(up.tcpAddress);

    const lonely = track(new Producer({ nsqdTcpAddresses: [downAddress], retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } }));
    const attempts: Error[] = [];
    lonely.on('error', (error) => attempts.push(error));
    await expect(lonely.publish(topic, 'nowhere')).rejects.toMatchObject({ code: ClientErrorCode.ConnectionClosed });
    expect(attempts).toHaveLength(3);
  });

  it('does not retry what no nsqd would accept: a body over the broker limit fails once', async () => {
    const broker = await pool.start({ maxMsgSize: 10 });
    const producer = track(new Producer({ nsqdTcpAddresses: [broker.tcpAddress], retry: { attempts: 5, initialDelayMs: 1000, maxDelayMs: 1000 } }));
    const started = Date.now();
    await expect(producer.publish(uniqueTopic(), 'x'.repeat(100))).rejects.toBeInstanceOf(ProtocolError);
    // A retry would have waited a whole second first.
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('classifies errors and computes capped exponential delays', () => {
    expect(isRetryablePublishError(new NsqClientError(ClientErrorCode.Unconfirmed, 'lost'))).toBe(true);
    expect(isRetryablePublishError(new NsqClientError(ClientErrorCode.InvalidTopic, 'bad'))).toBe(false);
    expect(isRetryablePublishError(new ProtocolError('E_PUB_FAILED', 'disk full'))).toBe(true);
    expect(isRetryablePublishError(new ProtocolError('E_BAD_MESSAGE', 'too big'))).toBe(false);
    expect(isRetryablePublishError(new Error('other'))).toBe(false);
    // A TLS handshake cut by the network, or an auth server briefly down (nsqd: E_AUTH_FAILED), may pass;
    // no secret configured, or no permission, will not.
    expect(isRetryablePublishError(new NsqClientError(ClientErrorCode.TlsFailed, 'socket disconnected before secure TLS connection'))).toBe(true);
    expect(isRetryablePublishError(new ProtocolError('E_AUTH_FAILED', 'AUTH failed'))).toBe(true);
    expect(isRetryablePublishError(new NsqClientError(ClientErrorCode.AuthRequired, 'no secret'))).toBe(false);
    expect(isRetryablePublishError(new ProtocolError('E_UNAUTHORIZED', 'AUTH failed for PUB'))).toBe(false);
    const options = PublishRetrySchema.parse({ initialDelayMs: 100, maxDelayMs: 500 });
    expect(options.attempts).toBe(5);
    expect([2, 3, 4, 5, 6].map((attempt) => retryDelayMs(options, attempt))).toEqual([100, 200, 400, 500, 500]);
  });
});
