/**
 * The console's server against a real broker: what it shows after polling, and who may act. The
 * page itself is driven in test/integration/console-browser.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelDetail, Overview } from '../../console/api-types.ts';
import { startConsole, type ConsoleHandle } from '../../console/server/server.ts';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import type { ConsoleOptionsInput } from '../../console/server/options.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(): Promise<BrokerHandle> {
  const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-console-'));
  const handle = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1' });
  cleanups.push(async () => {
    await handle.close();
    await rm(dataPath, { recursive: true, force: true });
  });
  return handle;
}

async function consoleFor(options: ConsoleOptionsInput): Promise<ConsoleHandle> {
  const handle = await startConsole({ httpAddress: '127.0.0.1:0', pollIntervalMs: 100, ...options });
  cleanups.push(() => handle.close());
  return handle;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
}

describe('console server', () => {
  it('shows topics and channels with their depth, and a broker that stops answering as down', async () => {
    const nsqd = await broker();
    await fetch(`http://${nsqd.httpAddress}/topic/create?topic=orders`, { method: 'POST' });
    await fetch(`http://${nsqd.httpAddress}/channel/create?topic=orders&channel=billing`, { method: 'POST' });
    await fetch(`http://${nsqd.httpAddress}/mpub?topic=orders`, { method: 'POST', body: 'a\nb\nc' });
    const web = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress] });
    await web.nextRound();
    const overview = (await (await fetch(`${web.url}api/overview`)).json()) as Overview;
    expect(overview.topics).toEqual([expect.objectContaining({ name: 'orders', depth: 0, messageCount: 3, channelCount: 1 })]);
    expect(overview.nodes).toEqual([expect.objectContaining({ address: nsqd.httpAddress, up: true })]);
    const channel = (await (await fetch(`${web.url}api/channel?topic=orders&channel=billing`)).json()) as ChannelDetail;
    expect(channel.counts.depth).toBe(3);

    await nsqd.close();
    await web.nextRound();
    const after = (await (await fetch(`${web.url}api/overview`)).json()) as Overview;
    expect(after.nodes[0]).toMatchObject({ up: false, lastGoodAt: overview.nodes[0]!.lastGoodAt });
    expect(after.topics[0]).toMatchObject({ name: 'orders', messageCount: 3, stale: true });
  });

  it('acts for a same-origin page, and refuses other origins, non-JSON bodies and unknown actions', async () => {
    const nsqd = await broker();
    await fetch(`http://${nsqd.httpAddress}/topic/create?topic=orders`, { method: 'POST' });
    await fetch(`http://${nsqd.httpAddress}/channel/create?topic=orders&channel=billing`, { method: 'POST' });
    const web = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress] });
    await web.nextRound();
    const origin = new URL(web.url).origin;
    const pause = { action: 'pause', topic: 'orders', channel: 'billing' };
    expect((await post(`${web.url}api/action`, pause, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(`${web.url}api/action`, pause, {})).status).toBe(403);
    const form = await fetch(`${web.url}api/action`, { method: 'POST', body: JSON.stringify(pause), headers: { Origin: origin, 'Content-Type': 'text/plain' } });
    expect(form.status).toBe(403);
    expect((await post(`${web.url}api/action`, { action: 'explode', topic: 'orders' }, { Origin: origin })).status).toBe(400);
    const done = await post(`${web.url}api/action`, pause, { Origin: origin });
    expect(await done.json()).toEqual({ ok: true, errors: [] });
    const stats = (await (await fetch(`http://${nsqd.httpAddress}/stats?format=json`)).json()) as { topics: Array<{ channels: Array<{ paused: boolean }> }> };
    expect(stats.topics[0]!.channels[0]!.paused).toBe(true);
  });

  it('refuses every action when read-only, and lets only admin users act', async () => {
    const nsqd = await broker();
    await fetch(`http://${nsqd.httpAddress}/topic/create?topic=orders`, { method: 'POST' });
    const readOnly = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress], readOnly: true });
    await readOnly.nextRound();
    const empty = { action: 'empty', topic: 'orders' };
    expect((await post(`${readOnly.url}api/action`, empty, { Origin: new URL(readOnly.url).origin })).status).toBe(403);
    expect(((await (await fetch(`${readOnly.url}api/overview`)).json()) as Overview).canAct).toBe(false);

    const admins = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress], adminUsers: ['ada'], aclHttpHeader: 'X-User' });
    await admins.nextRound();
    const origin = new URL(admins.url).origin;
    expect((await post(`${admins.url}api/action`, empty, { Origin: origin, 'X-User': 'bob' })).status).toBe(403);
    expect((await post(`${admins.url}api/action`, empty, { Origin: origin, 'X-User': 'ada' })).status).toBe(200);
    const view = (await (await fetch(`${admins.url}api/overview`, { headers: { 'X-User': 'ada' } })).json()) as Overview;
    expect(view).toMatchObject({ canAct: true, user: 'ada' });
  });

  it('serves the page and its bundle under the base path', async () => {
    const web = await consoleFor({ basePath: '/nsq' });
    const page = await fetch(`${web.url}`);
    expect(web.url.endsWith('/nsq/')).toBe(true);
    expect(await page.text()).toContain('<base href="/nsq/">');
    const js = await fetch(`${web.url}assets/app.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await js.text()).length).toBeGreaterThan(1000);
    expect((await fetch(`${web.url.replace('/nsq/', '/')}api/overview`)).status).toBe(404);
  });
});
