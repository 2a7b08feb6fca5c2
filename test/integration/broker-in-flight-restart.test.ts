/**
 * Clean stop and restart of a broker in another process with messages in flight, requeued with a
 * delay and published deferred: the deferred ones keep their due times across processes (the files
 * hold ms since the epoch; the broker's deadline clock starts anew), in memory mode and in sync mode.
 * Also the in-flight counts in /stats, per client and channel, and the errors for FIN/REQ/TOUCH of
 * ids not held.
 */
import { afterAll, describe, expect } from 'vitest';
import { encodeDpub, encodeReq, encodeTouch } from '../../protocol/commands.ts';
import { killAllChildBrokers } from '../support/child-broker.ts';
import { channelStats } from '../support/brokers.ts';
import { httpRequest, uniqueName, waitFor } from './helpers/broker-harness.ts';
import { harnessTest as it } from './helpers/harness-test.ts';
import { RawClient } from './helpers/raw-client.ts';

afterAll(killAllChildBrokers);

/** Channel `c` of `topic`. */
const channelCounts = (http: string, topic: string): ReturnType<typeof channelStats> => channelStats(http, topic, 'c');

for (const mode of [{ name: 'memory', options: {} }, { name: 'sync', options: { memQueueSize: 0, syncEvery: 1 } }]) {
  describe.concurrent(`clean restart in another process (${mode.name} mode)`, () => {
    it('keeps the due times of deferred messages and redelivers the in-flight one at once', async ({ harness, children }) => {
      const dataPath = await harness.tempDir();
      const broker = await children.start({ dataPath, ...mode.options });
      const topic = uniqueName('restart');
      const sub = harness.track(await RawClient.subscriber(broker.tcp, topic, 'c', 2));
      const pub = harness.track(await RawClient.connect(broker.tcp));
      pub.send(Buffer.from(`PUB ${topic}\n\0\0\0\x08inflight`));
      await pub.expectResponse('OK');
      pub.send(Buffer.from(`PUB ${topic}\n\0\0\0\x06requeu`));
      await pub.expectResponse('OK');
      const a = await sub.nextMessage();
      const b = await sub.nextMessage();
      const requeued = a.body.toString() === 'requeu' ? a : b;
      const held = a.body.toString() === 'requeu' ? b : a;
      const start = Date.now();
      sub.send(encodeReq(requeued.id, 4000));
      pub.send(encodeDpub(topic, 4000, Buffer.from('dpub')));
      await pub.expectResponse('OK');
      await waitFor(async () => {
        const c = await channelCounts(broker.http, topic);
        return c?.deferred_count === 2 && c.in_flight_count === 1 && c.clients[0]?.in_flight_count === 1;
      }, 'two deferred and one in flight');
      expect(await broker.stop('SIGTERM')).toBe(0);

      const restarted = await children.start({ dataPath, ...mode.options });
      const counts = await channelCounts(restarted.http, topic);
      expect({ deferred: counts?.deferred_count, depth: counts?.depth, inFlight: counts?.in_flight_count }).toEqual({ deferred: 2, depth: 1, inFlight: 0 });
      const again = harness.track(await RawClient.subscriber(restarted.tcp, topic, 'c', 10));
      const first = await again.nextMessage();
      expect(first.id).toBe(held.id);
      again.send(`FIN ${first.id}\n`);
      const next = await again.nextMessage(15_000);
      const elapsed = Date.now() - start;
      // Not before the 4 s delay, and not long after it (a machine under load gets some slack).
      expect(elapsed).toBeGreaterThanOrEqual(3900);
      expect(elapsed).toBeLessThan(9000);
      expect(['requeu', 'dpub']).toContain(next.body.toString());
    }, 40_000);
  });
}

describe.concurrent('in-flight errors and counts', () => {
  it('answers FIN, REQ and TOUCH of an id another client holds, one not in flight, or one finished twice, as nsqd', async ({ harness }) => {
    const broker = await harness.start({});
    const topic = uniqueName('owners');
    const a = await harness.subscriber(broker.tcpAddress, topic, 'c', 1, { msg_timeout: 60_000 });
    const b = await harness.subscriber(broker.tcpAddress, topic, 'c', 1, { msg_timeout: 2000 });
    const pub = await harness.connect(broker.tcpAddress);
    pub.send(Buffer.from(`MPUB ${topic}\n\0\0\0\x0e\0\0\0\x02\0\0\0\x01x\0\0\0\x01y`));
    await pub.expectResponse('OK');
    const fromA = await a.nextMessage();
    const fromB = await b.nextMessage();
    a.send(`FIN ${fromB.id}\n`);
    await a.expectError(`E_FIN_FAILED FIN ${fromB.id} failed client does not own message`);
    a.send(encodeReq(fromB.id, 0));
    await a.expectError(`E_REQ_FAILED REQ ${fromB.id} failed client does not own message`);
    a.send(encodeTouch(fromB.id));
    await a.expectError(`E_TOUCH_FAILED TOUCH ${fromB.id} failed client does not own message`);
    const stats = async () => (await channelCounts(broker.httpAddress, topic))!;
    expect((await stats()).in_flight_count).toBe(2);
    a.send(`FIN ${fromA.id}\n`);
    a.send(`FIN ${fromA.id}\n`);
    await a.expectError(`E_FIN_FAILED FIN ${fromA.id} failed ID not in flight`);
    // b's 2 s timeout passes while a holds nothing: b's message comes back to one of them.
    const back = await Promise.race([a.nextMessage(6000), b.nextMessage(6000)]);
    expect(back.id).toBe(fromB.id);
    expect(back.attempts).toBe(2);
    const s = await stats();
    expect(s.in_flight_count).toBe(1);
    expect(s.clients.map((c) => c.in_flight_count).sort()).toEqual([0, 1]);
    const metrics = (await httpRequest(broker.httpAddress, 'GET', '/metrics')).text;
    const gauge = metrics.split('\n').find((line) => line.startsWith('nsq_channel_in_flight{') && line.includes(topic));
    expect(gauge, metrics).toMatch(/ 1$/);
  }, 20_000);
});

describe.concurrent('TOUCH with a default msg-timeout above max-msg-timeout', () => {
  it('times the message out at delivery + max-msg-timeout, as the TOUCH set it', async ({ harness }) => {
    const broker = await harness.start({ msgTimeoutMs: 8000, maxMsgTimeoutMs: 1500 });
    const topic = uniqueName('touchshort');
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 1);
    const pub = await harness.connect(broker.tcpAddress);
    pub.send(Buffer.from(`PUB ${topic}\n\0\0\0\x01x`));
    await pub.expectResponse('OK');
    const first = await sub.nextMessage();
    const deliveredAt = Date.now();
    // nsqd: the TOUCH sets the timeout to delivery + max-msg-timeout (1.5 s), sooner than the 8 s.
    sub.send(encodeTouch(first.id));
    const again = await sub.nextMessage(10_000);
    expect(again.id).toBe(first.id);
    expect(Date.now() - deliveredAt).toBeLessThan(5000);
  }, 20_000);
});

describe.concurrent('channel operations with messages in flight', () => {
  it('empty, pause and delete leave no count behind, and the client is ready again after empty', async ({ harness }) => {
    const broker = await harness.start({});
    const http = broker.httpAddress;
    const topic = uniqueName('ops');
    const sub = await harness.subscriber(broker.tcpAddress, topic, 'c', 2);
    const pub = await harness.connect(broker.tcpAddress);
    const publish = async (body: string): Promise<void> => {
      pub.send(Buffer.concat([Buffer.from(`PUB ${topic}\n`), Buffer.from([0, 0, 0, body.length]), Buffer.from(body)]));
      await pub.expectResponse('OK');
    };
    await publish('a');
    await publish('b');
    const a = await sub.nextMessage();
    await sub.nextMessage();
    expect((await httpRequest(http, 'POST', `/channel/empty?topic=${topic}&channel=c`)).status).toBe(200);
    let s = (await channelCounts(http, topic))!;
    expect({ channel: s.in_flight_count, client: s.clients[0]!.in_flight_count }).toEqual({ channel: 0, client: 0 });
    sub.send(`FIN ${a.id}\n`);
    await sub.expectError(`E_FIN_FAILED FIN ${a.id} failed ID not in flight`);
    await publish('c');
    expect((await sub.nextMessage()).body.toString()).toBe('c');
    expect((await httpRequest(http, 'POST', `/channel/pause?topic=${topic}&channel=c`)).status).toBe(200);
    await publish('d');
    s = (await channelCounts(http, topic))!;
    expect({ inFlight: s.in_flight_count, depth: s.depth }).toEqual({ inFlight: 1, depth: 1 });
    expect((await httpRequest(http, 'POST', `/channel/delete?topic=${topic}&channel=c`)).status).toBe(200);
    await sub.waitClosed();
    expect(await channelCounts(http, topic)).toBeUndefined();
    const again = await harness.subscriber(broker.tcpAddress, topic, 'c', 5);
    await publish('e');
    expect((await again.nextMessage()).body.toString()).toBe('e');
    s = (await channelCounts(http, topic))!;
    expect({ inFlight: s.in_flight_count, depth: s.depth }).toEqual({ inFlight: 1, depth: 0 });
  }, 20_000);
});
