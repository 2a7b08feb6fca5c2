/**
 * The heartbeat interval a client may ask for is nsqd's to bound (--max-heartbeat-interval), not the
 * client's: go-nsq has no cap of its own, and a client-side 60 s cap refused what a broker started
 * with `--max-heartbeat-interval 2m` accepts. Runs against real nsqd too when NSQD_BIN is set.
 */
import { describe, expect, it } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { Consumer } from '../../client/consumer.ts';
import { testResources, uniqueTopic, waitFor } from '../support/brokers.ts';

const { pool, track } = testResources();

describe('heartbeat interval above 60s', () => {
  it('is accepted when the broker allows it, and the broker says no when it does not', async () => {
    const roomy = await pool.start({ maxHeartbeatIntervalMs: 120_000 });
    const topic = uniqueTopic('hb');
    const producer = track(new Producer({ nsqdTcpAddresses: [roomy.tcpAddress], heartbeatIntervalMs: 90_000 }));
    await producer.publish(topic, 'x');
    const received: string[] = [];
    track(
      new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [roomy.tcpAddress], heartbeatIntervalMs: 120_000 }, (message) => {
        received.push(message.text());
      }),
    ).start();
    await waitFor(() => received.length === 1, 'the message, over a connection with a 2m heartbeat');

    const strict = await pool.start();
    const refused = track(new Producer({ nsqdTcpAddresses: [strict.tcpAddress], heartbeatIntervalMs: 90_000 }));
    await expect(refused.publish(topic, 'x')).rejects.toThrow(/heartbeat interval \(90000\) is invalid/);
  });
});
