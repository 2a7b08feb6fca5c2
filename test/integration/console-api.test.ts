/**
 * The console's server against a real broker: what it shows after polling, and who may act. The
 * page itself is driven in test/integration/console-browser.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelDetail, DeadLettersAnswer, Overview } from '../../console/api-types.ts';
import { startConsole, type ConsoleHandle } from '../../console/server/server.ts';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { startLookupd } from '../../broker/lookupd/server.ts';
import { waitFor } from '../support/brokers.ts';
import { Consumer } from '../../client/consumer.ts';
import { makeTestCertificates } from '../support/certificates.ts';
import type { ConsoleOptionsInput } from '../../console/server/options.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(lookupdTcpAddresses: string[] = []): Promise<BrokerHandle> {
  const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-console-'));
  const handle = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1', lookupdTcpAddresses });
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
    // The round in flight at the close may still have been answered: the second begins after it.
    await web.nextRound();
    await web.nextRound();
    const after = (await (await fetch(`${web.url}api/overview`)).json()) as Overview;
    expect(after.nodes[0]).toMatchObject({ up: false });
    expect(after.nodes[0]!.lastGoodAt).toBeGreaterThanOrEqual(overview.nodes[0]!.lastGoodAt!);
    expect(after.topics[0]).toMatchObject({ name: 'orders', messageCount: 3, stale: true });
    await web.nextRound(); // a round that finds it down keeps the time of the last good one
    const later = (await (await fetch(`${web.url}api/overview`)).json()) as Overview;
    expect(later.nodes[0]).toMatchObject({ up: false, lastGoodAt: after.nodes[0]!.lastGoodAt });
  });

  it('acts for a same-origin page, and refuses other origins, non-JSON bodies and unknown actions', async () => {
    const nsqd = await broker();
    await fetch(`http://${nsqd.httpAddress}/topic/create?topic=orders`, { method: 'POST' });
    await fetch(`http://${nsqd.httpAddress}/channel/create?topic=orders&channel=billing`, { method: 'POST' });
    const web = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress] });
    await web.nextRound();
    const origin = new URL(web.url).origin;
    const pause = { action: 'pause', topic: 'orders', channel: 'billing' };
    const refused = async (response: Promise<Response>): Promise<[number, unknown]> => {
      const answer = await response;
      return [answer.status, await answer.json()];
    };
    expect(await refused(post(`${web.url}api/action`, pause, { Origin: 'http://evil.example' }))).toEqual([403, { message: `Origin http://evil.example does not match this console` }]);
    expect(await refused(post(`${web.url}api/action`, pause, {}))).toEqual([403, { message: 'no Origin header' }]);
    // JSON text sent as a form (curl -d) is refused by its header, which the answer names.
    const form = fetch(`${web.url}api/action`, { method: 'POST', body: JSON.stringify(pause), headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(await refused(form)).toEqual([403, { message: 'actions take Content-Type: application/json, not application/x-www-form-urlencoded' }]);
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

  it('finds nsqd through lookupd, and tombstones a topic on one node through lookupd and that node', async () => {
    const lookupd = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' });
    cleanups.push(() => lookupd.close());
    const nsqd = await broker([lookupd.tcpAddress]);
    await fetch(`http://${nsqd.httpAddress}/topic/create?topic=orders`, { method: 'POST' });
    const lookupProducers = async () => {
      const response = await fetch(`http://${lookupd.httpAddress}/lookup?topic=orders`);
      return response.status === 200 ? ((await response.json()) as { producers: unknown[] }).producers.length : 0;
    };
    await waitFor(async () => (await lookupProducers()) === 1, 'the topic to be registered with lookupd');
    const web = await consoleFor({ lookupdHttpAddresses: [lookupd.httpAddress] });
    await web.nextRound();
    const overview = (await (await fetch(`${web.url}api/overview`)).json()) as Overview;
    expect(overview.lookupds).toEqual([{ address: lookupd.httpAddress, up: true, error: null }]);
    expect(overview.nodes).toEqual([expect.objectContaining({ address: nsqd.httpAddress, source: 'lookupd', up: true })]);
    expect(overview.topics.map((topic) => topic.name)).toEqual(['orders']);

    const origin = new URL(web.url).origin;
    // A topic created with lookupds is registered there (as nsqadmin does) and listed before any nsqd has it.
    expect(await (await post(`${web.url}api/action`, { action: 'create', topic: 'planned' }, { Origin: origin })).json()).toEqual({ ok: true, errors: [] });
    await web.nextRound();
    const listed = (await (await fetch(`${web.url}api/overview`)).json()) as Overview;
    expect(listed.topics.map((topic) => [topic.name, topic.nodeCount])).toEqual([['orders', 1], ['planned', 0]]);

    const done = await post(`${web.url}api/action`, { action: 'tombstone', topic: 'orders', node: nsqd.httpAddress }, { Origin: origin });
    expect(await done.json()).toEqual({ ok: true, errors: [] });
    expect(await lookupProducers()).toBe(0);
    const stats = (await (await fetch(`http://${nsqd.httpAddress}/stats?format=json`)).json()) as { topics: unknown[] };
    expect(stats.topics).toEqual([]);
  });

  it('POSTs each action to the notification endpoint in the shape nsqadmin uses, with the user', async () => {
    const received: Array<Record<string, unknown>> = [];
    const endpoint = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        res.end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => endpoint.close(() => resolve())));
    const nsqd = await broker();
    await fetch(`http://${nsqd.httpAddress}/topic/create?topic=orders`, { method: 'POST' });
    const web = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress], notificationHttpEndpoint: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/audit` });
    await web.nextRound();
    await post(`${web.url}api/action`, { action: 'pause', topic: 'orders' }, { Origin: new URL(web.url).origin, 'X-Forwarded-User': 'ada' });
    await waitFor(() => received.length === 1, 'the notification');
    expect(received[0]).toMatchObject({ action: 'pause_topic', topic: 'orders', channel: '', user: 'ada', via: 'nsqworker-console' });
  });

  it('reads dead letters through its own channel and discards one; under --read-only shows only the count', async () => {
    const nsqd = await broker();
    const envelope = { topic: 'orders', channel: 'billing', task: 'charge', message_id: 'x', attempts: 5, timestamp: 0, error: 'card declined', body: '{"id":1}', body_encoding: 'utf8', dead_lettered_at: '2026-11-30T21:00:00.000Z' };
    await fetch(`http://${nsqd.httpAddress}/pub?topic=orders.dead_letter`, { method: 'POST', body: JSON.stringify(envelope) });
    const channels = async () => ((await (await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=orders.dead_letter`)).json()) as { topics: Array<{ channels: Array<{ channel_name: string; depth: number; in_flight_count: number }> }> }).topics[0]!.channels;

    const readOnly = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress], readOnly: true });
    await readOnly.nextRound();
    const counted = (await (await fetch(`${readOnly.url}api/dead-letters?topic=orders.dead_letter`)).json()) as DeadLettersAnswer;
    expect(counted).toEqual({ topic: 'orders.dead_letter', channel: null, waiting: 1, held: [], error: null });
    expect(await channels()).toEqual([]);

    const web = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress] });
    await web.nextRound();
    const read = async () => (await (await fetch(`${web.url}api/dead-letters?topic=orders.dead_letter`)).json()) as DeadLettersAnswer;
    // The first call opens the reader and answers once it holds what was waiting: a script's one call sees it.
    const [held] = (await read()).held;
    expect(held).toMatchObject({ task: 'charge', error: 'card declined', attempts: 5, bodyPreview: '{"id":1}', bodyBytes: 8 });
    const done = await post(`${web.url}api/action`, { action: 'discard', topic: 'orders.dead_letter', id: held!.id }, { Origin: new URL(web.url).origin });
    expect(await done.json()).toEqual({ ok: true, errors: [] });
    await waitFor(async () => (await channels()).every((c) => c.depth === 0 && c.in_flight_count === 0), 'the dead letter to be finished');
    expect((await channels()).map((c) => c.channel_name)).toEqual(['nsqworker_console']);
  });

  it("replays a dead letter to its task, and a message the worker rejected before any task ran to every task ('*')", async () => {
    const nsqd = await broker();
    const letter = (task: string, body: string, rejected: boolean) => ({
      topic: 'orders', channel: `billing.${task}`, task, message_id: body, attempts: 1, timestamp: 0, error: rejected ? 'validate returned false' : 'card declined',
      body, body_encoding: 'utf8', dead_lettered_at: '2026-11-30T21:00:00.000Z', ...(rejected ? { rejected: true } : {}),
    });
    for (const envelope of [letter('charge', 'failed', false), letter('audit', 'rejected', true)]) {
      await fetch(`http://${nsqd.httpAddress}/pub?topic=orders.dead_letter`, { method: 'POST', body: JSON.stringify(envelope) });
    }
    // A channel on the original topic keeps what the replays publish there.
    await fetch(`http://${nsqd.httpAddress}/channel/create?topic=orders&channel=seen`, { method: 'POST' });
    const web = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress] });
    await web.nextRound();
    const read = async () => (await (await fetch(`${web.url}api/dead-letters?topic=orders.dead_letter`)).json()) as DeadLettersAnswer;
    expect((await read()).held).toHaveLength(2);
    expect(Object.fromEntries((await read()).held.map((held) => [held.task, held.rejected]))).toEqual({ charge: false, audit: true });
    for (const held of (await read()).held) {
      const done = await post(`${web.url}api/action`, { action: 'replay', topic: 'orders.dead_letter', id: held.id }, { Origin: new URL(web.url).origin });
      expect(await done.json()).toEqual({ ok: true, errors: [] });
    }
    const replays: Array<{ __nsqworker_replay: { task: string; channel: string }; body: string }> = [];
    const consumer = new Consumer({ topic: 'orders', channel: 'seen', nsqdTcpAddresses: [nsqd.tcpAddress], maxInFlight: 2 }, (message) => {
      replays.push(message.json());
    });
    cleanups.push(() => consumer.close());
    consumer.start();
    await waitFor(() => replays.length === 2, 'both replays');
    expect(Object.fromEntries(replays.map((replay) => [replay.body, replay.__nsqworker_replay.task]))).toEqual({ failed: 'charge', rejected: '*' });
    // With the dead letter's channel, so that only the worker it came from runs it.
    expect(Object.fromEntries(replays.map((replay) => [replay.body, replay.__nsqworker_replay.channel]))).toEqual({ failed: 'billing.charge', rejected: 'billing.audit' });

    // What is wrong with a replay that cannot be done, named.
    const origin = { Origin: new URL(web.url).origin };
    const replay = (fields: Record<string, unknown>) => post(`${web.url}api/action`, { action: 'replay', topic: 'orders.dead_letter', ...fields }, origin);
    const notAnId = await replay({ id: 'abc' });
    expect(notAnId.status).toBe(400);
    expect(await notAnId.json()).toEqual({ message: 'replay: "abc" is not a message id (16 lowercase hex digits, as /api/dead-letters lists them)' });
    const long = await (await replay({ id: 'x'.repeat(1000) })).json();
    expect(long).toEqual({ message: `replay: "${'x'.repeat(40)}"… is not a message id (16 lowercase hex digits, as /api/dead-letters lists them)` });
    expect(await (await replay({})).json()).toEqual({ message: 'replay takes a dead-letter topic and a message id: no id given' });
    expect(await (await replay({ id: '0123456789abcdef' })).json()).toEqual({ ok: false, errors: ['that dead letter is no longer held: reload the list'] });
  });

  it('follows a --tls-required nsqd to its https port with the --http-client-tls-* CA, and shows it down without', async () => {
    const certs = makeTestCertificates();
    cleanups.push(async () => certs.remove());
    const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-console-'));
    const nsqd = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', httpsAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1', tlsCert: certs.serverCertFile, tlsKey: certs.serverKeyFile, tlsRequired: 'true' });
    cleanups.push(async () => {
      await nsqd.close();
      await rm(dataPath, { recursive: true, force: true });
    });
    const secured = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress], httpClientTlsRootCaFile: certs.caFile });
    await secured.nextRound();
    const seen = (await (await fetch(`${secured.url}api/overview`)).json()) as Overview;
    expect(seen.nodes).toEqual([expect.objectContaining({ address: nsqd.httpAddress, up: true, error: null })]);

    const untrusting = await consoleFor({ nsqdHttpAddresses: [nsqd.httpAddress] });
    await untrusting.nextRound();
    const refused = (await (await fetch(`${untrusting.url}api/overview`)).json()) as Overview;
    expect(refused.nodes[0]).toMatchObject({ up: false });
    expect(refused.nodes[0]!.error).toMatch(/certificate/i);
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
