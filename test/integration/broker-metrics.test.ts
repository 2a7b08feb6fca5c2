/** `GET /metrics` on the broker's HTTP address: Prometheus text with per-topic and per-channel series. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { Consumer } from '../../client/consumer.ts';
import { waitFor } from '../support/brokers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(): Promise<BrokerHandle> {
  const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-metrics-'));
  const handle = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1' });
  cleanups.push(async () => {
    await handle.close();
    await rm(dataPath, { recursive: true, force: true });
  });
  return handle;
}

async function scrape(handle: BrokerHandle): Promise<Map<string, number>> {
  const response = await fetch(`http://${handle.httpAddress}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

it('exposes depth, in flight, counts, clients and process metrics per topic and channel', async () => {
  const nsqd = await broker();
  const post = (path: string, body?: string) => fetch(`http://${nsqd.httpAddress}${path}`, { method: 'POST', ...(body === undefined ? {} : { body }) });
  await post('/topic/create?topic=orders');
  await post('/channel/create?topic=orders&channel=billing');
  await post('/channel/create?topic=orders&channel=audit');
  await post('/channel/pause?topic=orders&channel=audit');
  await post('/mpub?topic=orders', 'a\nb\nc\nd');

  // A consumer that holds one message in flight.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const consumer = new Consumer({ topic: 'orders', channel: 'billing', nsqdTcpAddresses: [nsqd.tcpAddress], maxInFlight: 1 }, () => held);
  cleanups.push(async () => {
    release();
    await consumer.close();
  });
  consumer.start();
  await waitFor(async () => (await scrape(nsqd)).get('nsq_channel_in_flight{topic="orders",channel="billing"}') === 1, 'a message in flight');

  const series = await scrape(nsqd);
  expect(series.get('nsq_topic_messages_total{topic="orders"}')).toBe(4);
  expect(series.get('nsq_topic_depth{topic="orders"}')).toBe(0);
  expect(series.get('nsq_topic_channels{topic="orders"}')).toBe(2);
  expect(series.get('nsq_channel_depth{topic="orders",channel="billing"}')).toBe(3);
  expect(series.get('nsq_channel_depth{topic="orders",channel="audit"}')).toBe(4);
  expect(series.get('nsq_channel_paused{topic="orders",channel="audit"}')).toBe(1);
  expect(series.get('nsq_channel_paused{topic="orders",channel="billing"}')).toBe(0);
  expect(series.get('nsq_channel_backend_depth{topic="orders",channel="billing"}')).toBe(0);
  expect(series.get('nsq_channel_deferred{topic="orders",channel="billing"}')).toBe(0);
  expect(series.get('nsq_channel_messages_total{topic="orders",channel="billing"}')).toBe(4);
  expect(series.get('nsq_channel_requeued_total{topic="orders",channel="billing"}')).toBe(0);
  expect(series.get('nsq_channel_timed_out_total{topic="orders",channel="billing"}')).toBe(0);
  expect(series.get('nsq_channel_clients{topic="orders",channel="billing"}')).toBe(1);
  expect(series.get('nsq_clients')).toBe(1);
  expect(series.get('nsq_healthy')).toBe(1);
  expect(series.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
  expect(series.has('nodejs_heap_size_used_bytes')).toBe(true);

  // A deleted topic's series go with it.
  release();
  await consumer.close();
  await post('/topic/delete?topic=orders');
  const after = await scrape(nsqd);
  expect([...after.keys()].filter((key) => key.includes('orders'))).toEqual([]);
});
