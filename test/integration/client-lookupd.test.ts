import { describe, expect, it } from 'vitest';
import { startLookupd } from '../../broker/lookupd/server.ts';
import { Consumer } from '../../client/consumer.ts';
import { queryLookupd } from '../../client/discovery.ts';
import { Producer } from '../../client/producer.ts';
import { uniqueTopic, waitFor, testResources } from '../support/brokers.ts';
import { NSQLOOKUPD_BIN, startNsqlookupdProcess, type ServerHandle } from '../support/nsq-processes.ts';

const { pool, closers } = testResources();

/** The bundled lookupd, or real nsqlookupd when NSQLOOKUPD_BIN names its binary. */
async function lookupd(): Promise<ServerHandle> {
  const options = { tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' };
  const handle = NSQLOOKUPD_BIN === undefined ? await startLookupd(options) : await startNsqlookupdProcess(NSQLOOKUPD_BIN, options);
  closers.push(() => handle.close());
  return handle;
}

describe('consumer discovery through lookupd', () => {
  it('finds producers on every lookupd, connects to new ones and drops vanished ones', async () => {
    const l1 = await lookupd();
    const l2 = await lookupd();
    const a = await pool.start({ lookupdTcpAddresses: [l1.tcpAddress] });
    const b = await pool.start({ lookupdTcpAddresses: [l2.tcpAddress] });
    const topic = uniqueTopic();
    const producerA = new Producer({ nsqdTcpAddresses: [a.tcpAddress] });
    closers.push(() => producerA.close());
    await producerA.publish(topic, 'from-a');
    await waitFor(async () => (await queryLookupd(l1.httpAddress, topic, 1000)).length === 1, 'a registered');

    const received = new Set<string>();
    const errors: Error[] = [];
    const consumer = new Consumer(
      {
        topic,
        channel: 'c',
        lookupdHttpAddresses: [l1.httpAddress, `http://${l2.httpAddress}/`],
        lookupdPollIntervalMs: 100,
        lookupdPollJitter: 0,
        maxInFlight: 4,
      },
      (m) => {
        received.add(m.text());
      },
    );
    closers.push(() => consumer.close());
    consumer.on('error', (e) => errors.push(e));
    consumer.start();
    await waitFor(() => received.has('from-a'), 'message from a');
    expect(consumer.connectedAddresses).toEqual([a.tcpAddress]);

    // b learns the topic: the next poll of l2 finds it.
    const producerB = new Producer({ nsqdTcpAddresses: [b.tcpAddress] });
    closers.push(() => producerB.close());
    await producerB.publish(topic, 'from-b');
    await waitFor(() => received.has('from-b'), 'message from b');
    expect(consumer.connectedAddresses.sort()).toEqual([a.tcpAddress, b.tcpAddress].sort());

    // a leaves: it unregisters, and the consumer drops it.
    await producerA.close();
    await a.stop();
    await waitFor(() => consumer.knownAddresses.length === 1, 'a dropped');
    expect(consumer.knownAddresses).toEqual([b.tcpAddress]);
    expect(consumer.connectedAddresses).toEqual([b.tcpAddress]);
    expect(errors.filter((e) => (e as { code?: string }).code === 'E_LOOKUP_FAILED')).toEqual([]);
  });

  it('a topic unknown to lookupd (404) is not an error; an unreachable lookupd is reported', async () => {
    const l1 = await lookupd();
    const topic = uniqueTopic();
    expect(await queryLookupd(l1.httpAddress, topic, 1000)).toEqual([]);
    const errors: Error[] = [];
    const consumer = new Consumer(
      { topic, channel: 'c', lookupdHttpAddresses: [l1.httpAddress, '127.0.0.1:1'], lookupdPollIntervalMs: 50, lookupdPollJitter: 0 },
      () => {},
    );
    closers.push(() => consumer.close());
    consumer.on('error', (e) => errors.push(e));
    consumer.start();
    await waitFor(() => errors.length >= 2, 'two polls');
    for (const e of errors) expect(e).toMatchObject({ code: 'E_LOOKUP_FAILED', url: expect.stringContaining('127.0.0.1:1') });
  });

  it("an nsqd's HTTP address given for lookupd's is said to be no lookupd, not polled as a topic unknown", async () => {
    const nsqd = await pool.start();
    await expect(queryLookupd(nsqd.httpAddress, uniqueTopic(), 1000)).rejects.toMatchObject({
      code: 'E_LOOKUP_FAILED',
      message: expect.stringContaining("answered 404 NOT_FOUND: this is not an nsqlookupd (an nsqd's HTTP address? lookupd's HTTP port is 4161 by default)"),
    });
  });
});
