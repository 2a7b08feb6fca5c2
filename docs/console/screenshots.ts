/**
 * Takes the README's console screenshots: a broker with a few topics and live traffic, the console
 * on it, and the main pages in headless Chromium. Run with `npx tsx docs/console/screenshots.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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

const topics: Record<string, string[]> = { orders: ['billing', 'shipping', 'analytics'], pageviews: ['counter', 'archive'], emails: ['send'], 'image-resize': ['thumbs'] };
for (const [topic, channels] of Object.entries(topics)) {
  await post(`/topic/create?topic=${topic}`);
  for (const channel of channels) await post(`/channel/create?topic=${topic}&channel=${channel}`);
}
await post('/channel/pause?topic=orders&channel=analytics');
// Handlers that take a while, so channels show messages in flight.
const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 90));
const consumers = [
  new Consumer({ topic: 'orders', channel: 'billing', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 5, clientId: 'billing-1' }, slow),
  new Consumer({ topic: 'orders', channel: 'billing', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 5, clientId: 'billing-2' }, slow),
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
const shot = async (hash: string, file: string) => {
  await page.goto(`${web.url}${hash}`);
  await page.waitForSelector('.chart[data-points], #nodes');
  await web.nextRound();
  await waitForTick(page, web.model.tick);
  await page.screenshot({ path: join(here, file) });
};
await shot('#/', 'topics.png');
await shot('#/topic/orders', 'topic.png');
await shot('#/topic/orders/billing', 'channel.png');
await shot('#/nodes', 'nodes.png');

await browser.close();
clearInterval(traffic);
await Promise.all(consumers.map((consumer) => consumer.close()));
await web.close();
await broker.close();
await rm(dataPath, { recursive: true, force: true });
