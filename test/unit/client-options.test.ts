import { describe, expect, it } from 'vitest';
import { NsqClientError } from '../../client/errors.ts';
import { ConsumerOptionsSchema, ProducerOptionsSchema, identifyBody, parseOptions } from '../../client/options.ts';
import { lookupUrl, parseLookupProducers } from '../../client/discovery.ts';
import { toBodyBuffer } from '../../client/body.ts';
import { Message, type MessageResponder } from '../../client/message.ts';

describe('consumer options', () => {
  it('fills go-nsq defaults', () => {
    const o = parseOptions(ConsumerOptionsSchema, { topic: 't', channel: 'c', nsqdTcpAddresses: ['127.0.0.1:4150'] }, 'consumer');
    expect(o.maxInFlight).toBe(1);
    expect(o.maxAttempts).toBe(5);
    expect(o.lookupdPollIntervalMs).toBe(60_000);
    expect(o.lookupdPollJitter).toBe(0.3);
    expect(o.heartbeatIntervalMs).toBe(30_000);
    expect(o.userAgent).toMatch(/^nsqworker\/\d+\.\d+\.\d+/);
  });

  it('rejects bad names, missing addresses and out-of-range values with E_INVALID_OPTIONS listing each problem', () => {
    let error: unknown;
    try {
      parseOptions(ConsumerOptionsSchema, { topic: 'bad topic', channel: 'c', maxInFlight: -1 }, 'consumer');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NsqClientError);
    expect((error as NsqClientError).code).toBe('E_INVALID_OPTIONS');
    expect((error as Error).message).toMatch(/topic/);
    expect((error as Error).message).toMatch(/maxInFlight/);
    expect(() => parseOptions(ConsumerOptionsSchema, { topic: 't', channel: 'c' }, 'consumer')).toThrow(/nsqdTcpAddresses or lookupdHttpAddresses/);
    expect(() =>
      parseOptions(ConsumerOptionsSchema, { topic: 't', channel: 'c', nsqdTcpAddresses: ['nope'] }, 'consumer'),
    ).toThrow(/host:port/);
    expect(() =>
      parseOptions(ConsumerOptionsSchema, { topic: 't', channel: 'c', nsqdTcpAddresses: ['a:1'], heartbeatIntervalMs: 10 }, 'consumer'),
    ).toThrow(/heartbeatIntervalMs/);
    // No upper bound of the client's own: nsqd's --max-heartbeat-interval decides (see client-heartbeat-limit).
    const long = parseOptions(ConsumerOptionsSchema, { topic: 't', channel: 'c', nsqdTcpAddresses: ['a:1'], heartbeatIntervalMs: 120_000 }, 'consumer');
    expect(long.heartbeatIntervalMs).toBe(120_000);
  });

  it('refuses an unknown key, nested ones too, naming the nearest known key first', () => {
    // Through a variable (as a config object read at run time) TypeScript's excess-property check is silent.
    const consumer: Record<string, unknown> = { topic: 't', channel: 'c', nsqdTcpAddresses: ['a:1'], maxInflight: 10, requeueDelay: 30 };
    expect(() => parseOptions(ConsumerOptionsSchema, consumer, 'consumer')).toThrow(
      'invalid consumer options: maxInflight: unknown option; did you mean maxInFlight?; requeueDelay: unknown option; did you mean requeueDelayMs?',
    );
    const producer: Record<string, unknown> = { nsqdTCPAddresses: ['a:1'], retry: { attempt: 3 }, tls: { rejectUnauthorised: false }, zzz: 1 };
    let message = '';
    try {
      parseOptions(ProducerOptionsSchema, producer, 'producer');
    } catch (error) {
      expect((error as NsqClientError).code).toBe('E_INVALID_OPTIONS');
      message = (error as Error).message;
    }
    expect(message).toContain('nsqdTCPAddresses: unknown option; did you mean nsqdTcpAddresses?; zzz: unknown option; ');
    expect(message).toContain('retry.attempt: unknown option; did you mean attempts?');
    expect(message).toContain('tls.rejectUnauthorised: unknown option; did you mean rejectUnauthorized?');
    // The missing key the unknown one stands for comes last, after the likely cause.
    expect(message).toMatch(/unknown option; nsqdTcpAddresses: [^;]*expected array[^;]*$/);
  });

  it('producer options need at least one address', () => {
    expect(() => parseOptions(ProducerOptionsSchema, { nsqdTcpAddresses: [] }, 'producer')).toThrow(/nsqdTcpAddresses/);
  });

  it('refuses a URL where an nsqd TCP address belongs, at construction rather than at the first publish', () => {
    expect(() => parseOptions(ProducerOptionsSchema, { nsqdTcpAddresses: ['http://127.0.0.1:4151'] }, 'producer')).toThrow(
      'nsqdTcpAddresses.0: expected host:port (an nsqd TCP address, not a URL)',
    );
    expect(parseOptions(ProducerOptionsSchema, { nsqdTcpAddresses: ['[::1]:4150', 'nsqd-1.internal:4150'] }, 'producer').nsqdTcpAddresses).toHaveLength(2);
  });

  it('IDENTIFY asks for feature negotiation and sends only what was set', () => {
    const o = parseOptions(ProducerOptionsSchema, { nsqdTcpAddresses: ['a:1'], clientId: 'me', msgTimeoutMs: 5000 }, 'producer');
    const body = identifyBody(o);
    expect(body).toMatchObject({ client_id: 'me', feature_negotiation: true, heartbeat_interval: 30_000, msg_timeout: 5000 });
    expect(body).not.toHaveProperty('sample_rate');
    expect(body.user_agent).toMatch(/^nsqworker\//);
  });
});

describe('lookupd discovery', () => {
  it('builds lookup URLs from bare addresses and URLs', () => {
    expect(lookupUrl('127.0.0.1:4161', 'events')).toBe('http://127.0.0.1:4161/lookup?topic=events');
    expect(lookupUrl('http://lookupd:4161/', 'a.b')).toBe('http://lookupd:4161/lookup?topic=a.b');
    expect(lookupUrl('https://lookupd/custom?x=1', 't')).toBe('https://lookupd/custom?x=1&topic=t');
  });

  it('reads broadcast_address:tcp_port from v1 and legacy replies, skipping broken entries', () => {
    const producers = [
      { broadcast_address: 'host-a', tcp_port: 4150 },
      { broadcast_address: '', address: 'host-b', tcp_port: 4250 },
      { broadcast_address: '::1', tcp_port: 4350 },
      { broadcast_address: 'no-port' },
      null,
    ];
    expect(parseLookupProducers({ channels: [], producers })).toEqual(['host-a:4150', 'host-b:4250', '[::1]:4350']);
    expect(parseLookupProducers({ status_code: 200, status_txt: 'OK', data: { producers: producers.slice(0, 1) } })).toEqual([
      'host-a:4150',
    ]);
    expect(() => parseLookupProducers({ nothing: true })).toThrow(/producers/);
  });
});

describe('bodies', () => {
  it('takes Buffers as they are, strings as UTF-8 and the rest as JSON', () => {
    const buffer = Buffer.from('x');
    expect(toBodyBuffer(buffer, 10)).toBe(buffer);
    expect(toBodyBuffer('é', 10)).toEqual(Buffer.from('é'));
    expect(toBodyBuffer({ a: 1 }, 10).toString()).toBe('{"a":1}');
    expect(toBodyBuffer(new Uint8Array([1, 2]), 10)).toEqual(Buffer.from([1, 2]));
  });

  it('refuses empty, oversized and unserialisable bodies with typed codes', () => {
    expect(() => toBodyBuffer('', 10)).toThrow(expect.objectContaining({ code: 'E_INVALID_BODY' }));
    expect(() => toBodyBuffer('x'.repeat(11), 10)).toThrow(expect.objectContaining({ code: 'E_BODY_TOO_LARGE' }));
    expect(() => toBodyBuffer(undefined, 10)).toThrow(expect.objectContaining({ code: 'E_INVALID_BODY' }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toBodyBuffer(cyclic, 100)).toThrow(expect.objectContaining({ code: 'E_INVALID_BODY' }));
  });
});

describe('Message', () => {
  it('answers once: a second finish or requeue returns false and sends nothing', () => {
    const answers: string[] = [];
    const responder: MessageResponder = {
      finishMessage: (m) => answers.push(`FIN ${m.id}`),
      requeueMessage: (m, delay, backoff) => answers.push(`REQ ${m.id} ${delay} ${backoff}`),
      touchMessage: (m) => answers.push(`TOUCH ${m.id}`),
    };
    const m = new Message({ id: '0123456789abcdef', attempts: 2, timestampNs: 1_700_000_000_123_456_789, body: Buffer.from('{"x":1}') }, responder, 'a:1');
    expect(m.json<{ x: number }>().x).toBe(1);
    expect(m.timestampMs).toBe(1_700_000_000_123);
    expect(m.touch()).toBe(true);
    expect(m.requeue(500, { backoff: false })).toBe(true);
    expect(m.finish()).toBe(false);
    expect(m.requeue()).toBe(false);
    expect(m.touch()).toBe(false);
    expect(answers).toEqual(['TOUCH 0123456789abcdef', 'REQ 0123456789abcdef 500 false']);
  });
});

describe('Message.requeue delay', () => {
  it('refuses a negative or non-finite delay without answering', () => {
    const sent: string[] = [];
    const responder: MessageResponder = {
      finishMessage: () => sent.push('FIN'),
      requeueMessage: () => sent.push('REQ'),
      touchMessage: () => sent.push('TOUCH'),
    };
    const m = new Message({ id: '0123456789abcdef', attempts: 1, timestampNs: 0, body: Buffer.from('x') }, responder, 'a:1');
    expect(() => m.requeue(Number.NaN)).toThrow(expect.objectContaining({ code: 'E_INVALID_DELAY' }));
    expect(() => m.requeue(-1)).toThrow(expect.objectContaining({ code: 'E_INVALID_DELAY' }));
    expect(m.hasResponded).toBe(false);
    expect(m.finish()).toBe(true);
    expect(sent).toEqual(['FIN']);
  });
});
