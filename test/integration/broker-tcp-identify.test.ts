/**
 * IDENTIFY on the bundled nsqd: the feature-negotiation answer byte for byte (nsqd v1.3.0's field
 * order and values), every bound with its exact E_BAD_BODY text, Go's strict JSON decoding, and
 * features that are not offered (TLS, snappy, deflate, AUTH) answered as nsqd answers them.
 */
import { describe, expect, it } from 'vitest';
import { encodeAuth, encodeCommand, encodeIdentify, encodeRdy, encodeSub } from '../../protocol/commands.ts';
import { FrameType } from '../../protocol/frames.ts';
import { bodyOf, brokerPerTest, uniqueName, type BrokerFixture } from './helpers/broker-tcp-fixture.ts';
import type { RawClient } from './helpers/raw-client.ts';
import { nsqdIdentifyAnswer } from '../support/nsqd-answers.ts';

const identifyRaw = (json: string): Buffer => encodeCommand('IDENTIFY', [], Buffer.from(json));

const expectedAnswer = nsqdIdentifyAnswer;

async function negotiate(f: BrokerFixture, body: object): Promise<{ client: RawClient; answer: string }> {
  const client = await f.connect();
  client.send(encodeIdentify({ feature_negotiation: true, ...body }));
  const frame = await client.nextFrame();
  expect(frame.type).toBe(FrameType.Response);
  return { client, answer: frame.data.toString() };
}

async function expectFatalIdentify(f: BrokerFixture, body: Buffer, error: string): Promise<void> {
  const client = await f.connect();
  client.send(body);
  const frame = await client.nextFrame();
  expect({ type: frame.type, data: frame.data.toString() }).toEqual({ type: FrameType.Error, data: error });
  await client.waitClosed();
}

/** The connection still works: it subscribes and gets a message in plain frames. */
async function expectWorking(f: BrokerFixture, client: RawClient): Promise<void> {
  const topic = uniqueName('works');
  client.send(encodeSub(topic, 'ch'));
  await client.expectResponse('OK');
  client.send(encodeRdy(1));
  await f.publish(topic, 'plain');
  expect(bodyOf(await client.nextMessage())).toBe('plain');
}

describe('bundled nsqd TCP: IDENTIFY with TLS, snappy and deflate not offered', () => {
  const fixture = brokerPerTest({ snappy: false, deflate: false });

  it('answers tls_v1, snappy and deflate as false when asked for, keeps deflate_level at 6, and keeps working in plain', async () => {
    const { client, answer } = await negotiate(fixture(), { tls_v1: true, snappy: true, deflate: true, deflate_level: 3 });
    expect(answer).toBe(expectedAnswer());
    await expectWorking(fixture(), client);
  });
});

describe('bundled nsqd TCP: IDENTIFY', () => {
  const fixture = brokerPerTest();

  it('answers feature_negotiation with every field, in nsqd order, with nsqd defaults', async () => {
    const { client, answer } = await negotiate(fixture(), {});
    expect(answer).toBe(expectedAnswer());
    await expectWorking(fixture(), client);
  });

  it('answers the negotiated values', async () => {
    const { answer } = await negotiate(fixture(), {
      msg_timeout: 5000,
      sample_rate: 50,
      output_buffer_size: 1024,
      output_buffer_timeout: 100,
      heartbeat_interval: 2000,
    });
    expect(answer).toBe(expectedAnswer({ msg_timeout: 5000, sample_rate: 50, output_buffer_size: 1024, output_buffer_timeout: 100 }));
  });

  it('answers the edges of every bound as accepted', async () => {
    const low = await negotiate(fixture(), { heartbeat_interval: 1000, output_buffer_timeout: 25, output_buffer_size: 64, sample_rate: 0, msg_timeout: 1000 });
    expect(low.answer).toBe(expectedAnswer({ msg_timeout: 1000, output_buffer_size: 64, output_buffer_timeout: 25 }));
    const high = await negotiate(fixture(), {
      heartbeat_interval: 60000,
      output_buffer_timeout: 30000,
      output_buffer_size: 65536,
      sample_rate: 99,
      msg_timeout: 900000,
    });
    expect(high.answer).toBe(expectedAnswer({ msg_timeout: 900000, sample_rate: 99, output_buffer_size: 65536, output_buffer_timeout: 30000 }));
  });

  it('treats -1 as "disabled" and 0 as "default"', async () => {
    const noBuffer = await negotiate(fixture(), { output_buffer_size: -1, output_buffer_timeout: 100 });
    // No buffering: size 1 and timeout 0, whatever timeout was asked for.
    expect(noBuffer.answer).toBe(expectedAnswer({ output_buffer_size: 1, output_buffer_timeout: 0 }));
    const noTimeout = await negotiate(fixture(), { output_buffer_timeout: -1 });
    expect(noTimeout.answer).toBe(expectedAnswer({ output_buffer_timeout: 0 }));
    const defaults = await negotiate(fixture(), { heartbeat_interval: 0, output_buffer_size: 0, output_buffer_timeout: 0, msg_timeout: 0 });
    expect(defaults.answer).toBe(expectedAnswer());
    await expectWorking(fixture(), noBuffer.client);
  });

  it('refuses snappy and deflate together, as nsqd does when it offers both (its default)', async () => {
    await expectFatalIdentify(
      fixture(),
      encodeIdentify({ feature_negotiation: true, snappy: true, deflate: true }),
      'E_IDENTIFY_FAILED cannot enable both deflate and snappy compression',
    );
  });


  it('answers OK without feature_negotiation, or with it false', async () => {
    const f = fixture();
    const plain = await f.connect();
    plain.send(encodeIdentify({ client_id: 'c1', hostname: 'h1', user_agent: 'ua/1' }));
    await plain.expectResponse('OK');
    const off = await f.connect();
    off.send(encodeIdentify({ feature_negotiation: false, msg_timeout: 5000 }));
    await off.expectResponse('OK');
    const nullFields = await f.connect();
    nullFields.send(identifyRaw('{"client_id":null,"msg_timeout":null,"feature_negotiation":null}'));
    await nullFields.expectResponse('OK');
    await expectWorking(f, plain);
  });

  it('ignores unknown fields, such as the short_id and long_id that go-nsq and pynsq still send', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(encodeIdentify({ short_id: 'x', long_id: 'y.example', extra: { nested: [1, 2] }, heartbeat_interval: 5000 }));
    await client.expectResponse('OK');
    await expectWorking(f, client);
  });

  it('accepts a second IDENTIFY before SUB', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(encodeIdentify({ client_id: 'first' }));
    await client.expectResponse('OK');
    client.send(encodeIdentify({ client_id: 'second', feature_negotiation: true, msg_timeout: 2000 }));
    const answer = await client.nextFrame();
    expect(answer.data.toString()).toBe(expectedAnswer({ msg_timeout: 2000 }));
    await expectWorking(f, client);
  });

  it('answers AUTH after IDENTIFY with E_AUTH_DISABLED and closes', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(encodeIdentify({ feature_negotiation: true }));
    expect((await client.nextFrame()).data.toString()).toBe(expectedAnswer());
    client.send(encodeAuth('secret'));
    await client.expectError('E_AUTH_DISABLED AUTH disabled');
    await client.waitClosed();
  });

  const bounds: Array<[string, object, string]> = [
    ['heartbeat_interval 999', { heartbeat_interval: 999 }, 'heartbeat interval (999) is invalid'],
    ['heartbeat_interval 60001', { heartbeat_interval: 60001 }, 'heartbeat interval (60001) is invalid'],
    ['heartbeat_interval -2', { heartbeat_interval: -2 }, 'heartbeat interval (-2) is invalid'],
    ['output_buffer_timeout 24', { output_buffer_timeout: 24 }, 'output buffer timeout (24) is invalid'],
    ['output_buffer_timeout 1 (the docs say 1 is the minimum; the code says 25)', { output_buffer_timeout: 1 }, 'output buffer timeout (1) is invalid'],
    ['output_buffer_timeout 30001', { output_buffer_timeout: 30001 }, 'output buffer timeout (30001) is invalid'],
    ['output_buffer_timeout -2', { output_buffer_timeout: -2 }, 'output buffer timeout (-2) is invalid'],
    ['output_buffer_size 63', { output_buffer_size: 63 }, 'output buffer size (63) is invalid'],
    ['output_buffer_size 65537', { output_buffer_size: 65537 }, 'output buffer size (65537) is invalid'],
    ['output_buffer_size -2', { output_buffer_size: -2 }, 'output buffer size (-2) is invalid'],
    ['sample_rate -1', { sample_rate: -1 }, 'sample rate (-1) is invalid'],
    ['sample_rate 100', { sample_rate: 100 }, 'sample rate (100) is invalid'],
    ['msg_timeout 999', { msg_timeout: 999 }, 'msg timeout (999) is invalid'],
    ['msg_timeout 900001', { msg_timeout: 900001 }, 'msg timeout (900001) is invalid'],
    ['msg_timeout -1', { msg_timeout: -1 }, 'msg timeout (-1) is invalid'],
    // nsqd checks heartbeat, then output buffer timeout, then size, then sample rate, then msg timeout.
    ['heartbeat before the rest', { msg_timeout: 1, sample_rate: 200, output_buffer_size: 1, output_buffer_timeout: 1, heartbeat_interval: 1 }, 'heartbeat interval (1) is invalid'],
    ['output buffer timeout before size', { msg_timeout: 1, sample_rate: 200, output_buffer_size: 1, output_buffer_timeout: 1 }, 'output buffer timeout (1) is invalid'],
    ['output buffer size before sample rate', { msg_timeout: 1, sample_rate: 200, output_buffer_size: 1 }, 'output buffer size (1) is invalid'],
    ['sample rate before msg timeout', { msg_timeout: 1, sample_rate: 200 }, 'sample rate (200) is invalid'],
  ];
  for (const [name, body, reason] of bounds) {
    it(`refuses ${name} with E_BAD_BODY IDENTIFY ${reason}`, async () => {
      await expectFatalIdentify(fixture(), encodeIdentify({ feature_negotiation: true, ...body }), `E_BAD_BODY IDENTIFY ${reason}`);
    });
  }

  const undecodable: Array<[string, string]> = [
    ['malformed JSON', '{"msg_timeout": '],
    ['a string where an int belongs', '{"heartbeat_interval":"1000"}'],
    ['a fraction where an int belongs', '{"msg_timeout":1000.5}'],
    ['a string where a bool belongs', '{"feature_negotiation":"true"}'],
    ['a number where a string belongs', '{"client_id":7}'],
    ['an int beyond int32 for sample_rate', '{"sample_rate":2147483648}'],
    ['an array', '[]'],
    ['a bare string', '"hello"'],
    ['trailing garbage', '{} x'],
  ];
  for (const [name, json] of undecodable) {
    it(`refuses ${name} with E_BAD_BODY IDENTIFY failed to decode JSON body`, async () => {
      await expectFatalIdentify(fixture(), identifyRaw(json), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
    });
  }

  it('matches field names ignoring case, as Go decodes JSON', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(identifyRaw('{"Feature_Negotiation":true,"MSG_TIMEOUT":5000,"Sample_Rate":7}'));
    expect((await client.nextFrame()).data.toString()).toBe(expectedAnswer({ msg_timeout: 5000, sample_rate: 7 }));
    await expectFatalIdentify(f, identifyRaw('{"Heartbeat_Interval":999}'), 'E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid');
    await expectFatalIdentify(f, identifyRaw('{"MSG_timeout":"soon"}'), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
  });

  it('takes a JSON null body as an empty IDENTIFY, as Go does', async () => {
    const f = fixture();
    const client = await f.connect();
    client.send(identifyRaw('null'));
    await client.expectResponse('OK');
    await expectWorking(f, client);
  });

  it('reports client_id, hostname, user_agent and sample_rate in /stats', async () => {
    const f = fixture();
    const topic = uniqueName('identstats');
    const client = await f.connect();
    client.send(encodeIdentify({ client_id: 'id-1', hostname: 'host-1', user_agent: 'agent/2.0', sample_rate: 10 }));
    await client.expectResponse('OK');
    client.send(encodeSub(topic, 'ch'));
    await client.expectResponse('OK');
    const stats = await f.channelStats(topic, 'ch');
    expect(stats?.clients?.[0]).toMatchObject({ client_id: 'id-1', hostname: 'host-1', user_agent: 'agent/2.0', sample_rate: 10, state: 3 });
  });

  it('shows empty client_id, hostname and user_agent for an IDENTIFY without them, as nsqd assigns all three', async () => {
    const f = fixture();
    const topic = uniqueName('identempty');
    const client = await f.connect();
    client.send(encodeIdentify({ msg_timeout: 5000 }));
    await client.expectResponse('OK');
    client.send(encodeSub(topic, 'ch'));
    await client.expectResponse('OK');
    const stats = await f.channelStats(topic, 'ch');
    expect(stats?.clients?.[0]).toMatchObject({ client_id: '', hostname: '', user_agent: '' });
  });
});

describe('bundled nsqd TCP: IDENTIFY with other broker bounds', () => {
  const fixture = brokerPerTest({ maxRdyCount: 100, maxMsgTimeoutMs: 10_000, maxDeflateLevel: 3, maxOutputBufferSize: 4096, maxHeartbeatIntervalMs: 5000 });

  it('answers with the configured maxima and checks against them', async () => {
    const f = fixture();
    const { answer } = await negotiate(f, { msg_timeout: 10_000, output_buffer_size: 4096, heartbeat_interval: 5000 });
    expect(answer).toBe(
      expectedAnswer({ max_rdy_count: 100, max_msg_timeout: 10_000, msg_timeout: 10_000, deflate_level: 3, max_deflate_level: 3, output_buffer_size: 4096 }),
    );
    await expectFatalIdentify(f, encodeIdentify({ msg_timeout: 10_001 }), 'E_BAD_BODY IDENTIFY msg timeout (10001) is invalid');
    await expectFatalIdentify(f, encodeIdentify({ output_buffer_size: 4097 }), 'E_BAD_BODY IDENTIFY output buffer size (4097) is invalid');
    await expectFatalIdentify(f, encodeIdentify({ heartbeat_interval: 5001 }), 'E_BAD_BODY IDENTIFY heartbeat interval (5001) is invalid');
    const sub = await f.subscriber(uniqueName('maxrdy'), 'ch', 0);
    sub.send('RDY 101\n');
    await sub.expectError('E_INVALID RDY count 101 out of range 0-100');
    await sub.waitClosed();
  });
});
