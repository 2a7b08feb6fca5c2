/** A topic's copies to its channels are independent: delivery on one channel never shows on another. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodePub } from '../../protocol/commands.ts';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { RawClient } from './helpers/raw-client.ts';

let broker: BrokerHandle;
let dataPath: string;
const clients: RawClient[] = [];

beforeEach(async () => {
  dataPath = mkdtempSync(join(tmpdir(), 'nsqworker-multicast-'));
  broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await broker.close();
  rmSync(dataPath, { recursive: true, force: true });
});

it('delivers each channel its own first attempt of a message delivered at once', async () => {
  const subscribers = await Promise.all(['a', 'b', 'c'].map((channel) => RawClient.subscriber(broker.tcpAddress, 'multi', channel, 10)));
  clients.push(...subscribers);
  const publisher = await RawClient.connect(broker.tcpAddress);
  clients.push(publisher);
  publisher.send(encodePub('multi', Buffer.from('hello')));
  await publisher.expectResponse('OK');
  const received = await Promise.all(subscribers.map((subscriber) => subscriber.nextMessage()));
  expect(received.map((message) => message.attempts)).toEqual([1, 1, 1]);
  expect(new Set(received.map((message) => message.id)).size).toBe(1);
});
