/**
 * Several consumers of one topic sharing a LookupdDiscovery: one poll feeds them all (they connect
 * to a new nsqd together), the hook before SUB gets the nsqd's HTTP address from lookupd and can
 * hold the subscription back (a rejection is retried), and direct addresses can be added and removed
 * at run time. Runs against real nsqd and nsqlookupd when NSQD_BIN and NSQLOOKUPD_BIN are set.
 */
import { describe, expect, it } from 'vitest';
import { startLookupd } from '../../broker/lookupd/server.ts';
import { Consumer, type NsqdNodeInfo } from '../../client/consumer.ts';
import { LookupdDiscovery } from '../../client/lookupd-discovery.ts';
import { Producer } from '../../client/producer.ts';
import { testResources, uniqueTopic, waitFor } from '../support/brokers.ts';
import { NSQLOOKUPD_BIN, startNsqlookupdProcess, type ServerHandle } from '../support/nsq-processes.ts';

const { pool, closers, track } = testResources();

async function lookupd(): Promise<ServerHandle> {
  const options = { tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' };
  const handle = NSQLOOKUPD_BIN === undefined ? await startLookupd(options) : await startNsqlookupdProcess(NSQLOOKUPD_BIN, options);
  closers.push(() => handle.close());
  return handle;
}

describe('a LookupdDiscovery shared by consumers', () => {
  it('feeds every consumer from one poll, with the HTTP address for the hook before SUB', async () => {
    const l = await lookupd();
    const nsqd = await pool.start({ lookupdTcpAddresses: [l.tcpAddress] });
    const topic = uniqueTopic();
    const producer = track(new Producer({ nsqdTcpAddresses: [nsqd.tcpAddress] }));
    await producer.publish(topic, 'x');

    const discovery = new LookupdDiscovery({ topic, lookupdHttpAddresses: [l.httpAddress], lookupdPollIntervalMs: 100, lookupdPollJitter: 0 });
    closers.push(async () => discovery.stop());
    const results: string[][] = [];
    discovery.on('result', (result) => results.push(result.producers));
    const prepared: NsqdNodeInfo[] = [];
    let refuse = 1;
    const beforeSubscribe = async (node: NsqdNodeInfo): Promise<void> => {
      prepared.push(node);
      // The first attempt is refused: the consumer retries it like a failed connect.
      if (refuse-- > 0) throw new Error('not yet');
    };
    const got: string[] = [];
    const consumers = ['a', 'b'].map((channel) =>
      track(
        new Consumer(
          { topic, channel, lookupdHttpAddresses: [l.httpAddress], discovery, beforeSubscribe, reconnectInitialDelayMs: 50 },
          (message) => {
            got.push(`${channel}:${message.text()}`);
          },
        ),
      ).start(),
    );
    await waitFor(() => consumers.every((c) => c.connectedAddresses.length === 1), 'both consumers subscribed');
    expect(prepared[0]).toEqual({ tcpAddress: nsqd.tcpAddress, httpAddress: nsqd.httpAddress });
    expect(prepared.length).toBeGreaterThanOrEqual(3);
    await producer.publish(topic, 'y');
    await waitFor(() => got.includes('a:y') && got.includes('b:y'), 'both channels to get y');
    // The owner sees every poll too (one poller for both consumers), each listing the nsqd.
    const polls = results.length;
    await waitFor(() => results.length >= polls + 2, 'two more polls');
    expect(results.every((producers) => producers.join() === nsqd.tcpAddress)).toBe(true);
  });

  it('adds and removes direct nsqd addresses at run time', async () => {
    const one = await pool.start();
    const two = await pool.start();
    const topic = uniqueTopic();
    const consumer = track(new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [one.tcpAddress] }, () => {})).start();
    await waitFor(() => consumer.connectedAddresses.length === 1, 'one');
    consumer.addNsqdAddress(two.tcpAddress);
    await waitFor(() => consumer.connectedAddresses.length === 2, 'two');
    await consumer.removeNsqdAddress(one.tcpAddress);
    expect(consumer.knownAddresses).toEqual([two.tcpAddress]);
    await waitFor(() => consumer.connectedAddresses.join() === two.tcpAddress, 'only two');
  });
});
