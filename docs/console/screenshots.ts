/**
 * Takes the README's console screenshots: a broker with a few topics, live traffic, a worker's
 * consumers (named as the runner names them) and a few dead letters, the console on it, and the main
 * pages in headless Chromium. Run with `npx tsx docs/console/screenshots.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../../broker/nsqd/server.ts';
import { Consumer } from '../../client/consumer.ts';
import { startConsole } from '../../console/server/server.ts';
import { launchBrowser, waitForTick } from '../../test/support/browser.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-shots-'));
const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1' });
const post = (path: string, body?: string) => fetch(`http://${broker.httpAddress}${path}`, { method: 'POST', ...(body === undefined ? {} : { body }) });

const topics: Record<string, string[]> = { orders: ['billing.charge', 'billing.receipt', 'shipping', 'analytics'], pageviews: ['counter', 'archive'], emails: ['send'], 'image-resize': ['thumbs'] };
for (const [topic, channels] of Object.entries(topics)) {
  await post(`/topic/create?topic=${topic}`);
  for (const channel of channels) await post(`/channel/create?topic=${topic}&channel=${channel}`);
}
await post('/channel/pause?topic=orders&channel=analytics');
for (const [i, error] of ['card declined: insufficient funds', 'gateway timeout after 30000 ms', 'card declined: expired card'].entries()) {
  const envelope = { topic: 'orders', channel: 'billing.charge', task: 'charge', message_id: `0a1b2c3d4e5f600${i}`, attempts: 5, timestamp: Date.now() * 1e6, error, body: JSON.stringify({ order: 4810 + i, amount: 19.9 + i * 12, currency: 'EUR' }), body_encoding: 'utf8', dead_lettered_at: new Date(Date.now() - (3 - i) * 420_000).toISOString() };
  await post('/pub?topic=orders.dead_letter', JSON.stringify(envelope));
}

// What a worker's --health-address serves, enough for the workers page: ready, and growing counters.
const started = Date.now();
const metrics = createServer((_req, res) => {
  const s = (Date.now() - started) / 1000;
  const line = (name: string, task: string, perSecond: number) => `${name}{topic="orders",channel="billing.${task}",task="${task}"} ${Math.round(s * perSecond)}`;
  res.end(['nsqworker_ready 1', 'nsqworker_draining 0', line('nsqworker_messages_finished_total', 'charge', 44), line('nsqworker_messages_requeued_total', 'charge', 1.5), line('nsqworker_messages_dead_lettered_total', 'charge', 0.1), line('nsqworker_messages_finished_total', 'receipt', 45)].join('\n'));
});
await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
const health = `127.0.0.1:${(metrics.address() as AddressInfo).port}`;

// Handlers that take a while, so channels show messages in flight.
const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 90));
const worker = (task: string, id: number) =>
  new Consumer(
    { topic: 'orders', channel: `billing.${task}`, nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 5, clientId: `app-${id}:${4100 + id}`, userAgent: `nsqworker/0.1.0 (worker=orders/billing; task=${task}; dead_letter=orders.dead_letter; health=${health})` },
    slow,
  );
const consumers = [
  worker('charge', 1),
  worker('charge', 2),
  worker('receipt', 1),
  new Consumer({ topic: 'pageviews', channel: 'counter', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 20, clientId: 'counter-1' }, slow),
];
for (const consumer of consumers) consumer.start();
let n = 0;
const traffic = setInterval(() => {
  n += 1;
  const wave = 1 + Math.sin(n / 6);
  void post('/mpub?topic=orders', Array.from({ length: Math.round(8 + 10 * wave) }, (_, i) => `order ${n}-${i}`).join('\n'));
  void post('/mpub?topic=pageviews', Array.from({ length: Math.round(30 + 25 * wave) }, (_, i) => `view ${n}-${i}`).join('\n'));
  if (n % 3 === 0) void post('/pub?topic=emails', `mail ${n}`);
}, 250);

const web = await startConsole({ httpAddress: '127.0.0.1:0', nsqdHttpAddresses: [broker.httpAddress], pollIntervalMs: 1000 });
// Enough polls for the charts to have a shape.
for (let i = 0; i < 30; i += 1) await web.nextRound();

const browser = await launchBrowser({ width: 1280, height: 860 });
const page = await browser.context.newPage();
const shot = async (hash: string, ready: string, file: string) => {
  await page.goto(`${web.url}${hash}`);
  await page.waitForSelector(ready);
  await web.nextRound();
  await waitForTick(page, web.model.tick);
  await page.screenshot({ path: join(here, file) });
};
await shot('#/', '.chart[data-points]', 'topics.png');
await shot('#/topic/orders', '.chart[data-points]', 'topic.png');
await shot('#/topic/orders/billing.charge', '.chart[data-points]', 'channel.png');
await shot('#/workers', '#workers tr[data-task]', 'workers.png');
await shot('#/dead-letters/orders.dead_letter', '#dead-letters tr[data-id]:nth-child(3)', 'dead-letters.png');
await shot('#/nodes', '#nodes tr[data-node]', 'nodes.png');

await browser.close();
clearInterval(traffic);
await Promise.all(consumers.map((consumer) => consumer.close()));
await web.close();
await broker.close();
metrics.close();
await rm(dataPath, { recursive: true, force: true });
