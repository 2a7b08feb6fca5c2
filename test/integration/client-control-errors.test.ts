/**
 * A handler steers delivery by throwing; a give-up hook that fails must not lose the message.
 */
import { expect, it } from 'vitest';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { uniqueTopic, waitFor, testResources } from '../support/brokers.ts';

const { pool, closers } = testResources();

async function publishOne(address: string, topic: string, body: string): Promise<void> {
  const producer = new Producer({ nsqdTcpAddresses: [address] });
  await producer.publish(topic, body);
  await producer.close();
}

it('requeues, not finishes, a message whose give-up hook failed, and gives up on it later', async () => {
  const broker = await pool.start();
  const topic = uniqueTopic();
  await publishOne(broker.tcpAddress, topic, 'poison');
  const hookCalls: number[] = [];
  const discarded: number[] = [];
  const consumer = new Consumer(
    {
      topic,
      channel: 'c',
      nsqdTcpAddresses: [broker.tcpAddress],
      maxAttempts: 1,
      requeueDelayMs: 10,
      maxBackoffDurationMs: 0,
      onGiveUp: (message) => {
        hookCalls.push(message.attempts);
        if (hookCalls.length === 1) throw new Error('dead-letter store unavailable');
      },
    },
    () => {
      throw new Error('always fails');
    },
  );
  consumer.on('error', () => {});
  consumer.on('discarded', (message) => discarded.push(message.attempts));
  closers.push(() => consumer.close());
  consumer.start();
  await waitFor(() => discarded.length === 1, 'the message to be given up on');
  expect(hookCalls).toEqual([1, 2]);
  expect(discarded).toEqual([2]);
});

it('recognises control errors by code, as thrown by another copy of the package', async () => {
  const broker = await pool.start();
  const topic = uniqueTopic();
  await publishOne(broker.tcpAddress, topic, 'x');
  const requeues: Array<{ attempts: number; delayMs: number }> = [];
  const discarded: number[] = [];
  const consumer = new Consumer(
    { topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxAttempts: 5, maxBackoffDurationMs: 0 },
    (message) => {
      // Errors shaped like RequeueMessage and GiveUpMessage, but not instances of this copy's classes.
      const error = new Error('foreign') as Error & { code: string; delayMs?: number; backoff?: boolean };
      error.code = message.attempts === 1 ? 'E_REQUEUE' : 'E_GIVE_UP';
      if (message.attempts === 1) error.delayMs = 20;
      throw error;
    },
  );
  consumer.on('requeued', (message, delayMs) => requeues.push({ attempts: message.attempts, delayMs }));
  consumer.on('discarded', (message) => discarded.push(message.attempts));
  closers.push(() => consumer.close());
  consumer.start();
  await waitFor(() => discarded.length === 1, 'the message to be given up on');
  expect(requeues).toEqual([{ attempts: 1, delayMs: 20 }]);
  expect(discarded).toEqual([2]);
});
