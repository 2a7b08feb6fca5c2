/**
 * Bundled brokers registering with bundled lookupds: discovery with no single point of failure, and
 * nsqjs finding both brokers through lookupd alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nsq from 'nsqjs';
import { afterEach, describe, expect, it } from 'vitest';
import { startLookupd, type LookupdHandle } from '../../broker/lookupd/server.ts';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function lookupd(tcpAddress = '127.0.0.1:0', httpAddress = '127.0.0.1:0'): Promise<LookupdHandle> {
  const handle = await startLookupd({ tcpAddress, httpAddress, broadcastAddress: '127.0.0.1' });
  cleanups.push(() => handle.close());
  return handle;
}

async function broker(lookupdTcpAddresses: string[]): Promise<BrokerHandle> {
  const dataPath = mkdtempSync(join(tmpdir(), 'nsqworker-reg-'));
  const handle = await startBroker({
    tcpAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    broadcastAddress: '127.0.0.1',
    dataPath,
    lookupdTcpAddresses,
  });
  cleanups.push(async () => {
    await handle.close();
    rmSync(dataPath, { recursive: true, force: true });
  });
  return handle;
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/**
 * Polls `check` until it returns true or the deadline passes. A check that throws (a request on a
 * connection a restarted server closed) counts as not yet.
 */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error('condition not met before the deadline', { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const producerPorts = async (l: LookupdHandle, topic: string): Promise<number[]> => {
  const { status, body } = await getJson(`http://${l.httpAddress}/lookup?topic=${topic}`);
  return status === 200 ? body.producers.map((p: { tcp_port: number }) => p.tcp_port).sort() : [];
};

async function publishHttp(b: BrokerHandle, topic: string, body: string): Promise<void> {
  const response = await fetch(`http://${b.httpAddress}/pub?topic=${topic}`, { method: 'POST', body });
  expect(response.status).toBe(200);
}

describe('broker registration with lookupd', () => {
  it('lists two brokers on two lookupds, channels included, and unregisters deleted topics', async () => {
    const [l1, l2] = [await lookupd(), await lookupd()];
    const addresses = [l1.tcpAddress, l2.tcpAddress];
    const [a, b] = [await broker(addresses), await broker(addresses)];
    await publishHttp(a, 'reg_topic', 'x');
    await publishHttp(b, 'reg_topic', 'y');
    const expected = [a.tcpPort, b.tcpPort].sort();
    for (const l of [l1, l2]) await eventually(async () => JSON.stringify(await producerPorts(l, 'reg_topic')) === JSON.stringify(expected));

    await fetch(`http://${a.httpAddress}/channel/create?topic=reg_topic&channel=reg_channel`, { method: 'POST' });
    await eventually(async () => (await getJson(`http://${l1.httpAddress}/channels?topic=reg_topic`)).body.channels.includes('reg_channel'));

    await fetch(`http://${a.httpAddress}/topic/delete?topic=reg_topic`, { method: 'POST' });
    await eventually(async () => JSON.stringify(await producerPorts(l2, 'reg_topic')) === JSON.stringify([b.tcpPort]));
  });

  it('drops a broker whose connection closes, and re-registers with a lookupd restarted empty', async () => {
    const l = await lookupd();
    const a = await broker([l.tcpAddress]);
    const b = await broker([l.tcpAddress]);
    await publishHttp(a, 'restart_topic', 'x');
    await publishHttp(b, 'restart_topic', 'x');
    await eventually(async () => (await producerPorts(l, 'restart_topic')).length === 2);

    await b.close();
    await eventually(async () => JSON.stringify(await producerPorts(l, 'restart_topic')) === JSON.stringify([a.tcpPort]));

    const { tcpAddress, httpAddress } = l;
    await l.close();
    const restarted = await lookupd(tcpAddress, httpAddress);
    await eventually(async () => JSON.stringify(await producerPorts(restarted, 'restart_topic')) === JSON.stringify([a.tcpPort]), 10_000);
  });

  it('lets an nsqjs Reader configured only with lookupd consume from both brokers', async () => {
    const l = await lookupd();
    const a = await broker([l.tcpAddress]);
    const b = await broker([l.tcpAddress]);
    await publishHttp(a, 'disc_topic', 'from-a');
    await publishHttp(b, 'disc_topic', 'from-b');
    await eventually(async () => (await producerPorts(l, 'disc_topic')).length === 2);

    const reader = new nsq.Reader('disc_topic', 'disc_channel', {
      lookupdHTTPAddresses: [l.httpAddress],
      lookupdPollInterval: 1,
      maxInFlight: 10,
    });
    cleanups.push(() => reader.close());
    reader.on('error', () => {});
    const seen: string[] = [];
    const done = new Promise<void>((resolve) =>
      reader.on('message', (message: nsq.Message) => {
        seen.push(message.body.toString());
        message.finish();
        if (seen.length === 2) resolve();
      }),
    );
    reader.connect();
    await done;
    expect(seen.sort()).toEqual(['from-a', 'from-b']);
  });
});

describe('a new topic on a broker registered with lookupd', () => {
  it('first creates the channels lookupd lists for it, so each gets the first messages', async () => {
    const l = await lookupd();
    const a = await broker([l.tcpAddress]);
    // The cluster knows topic fan with two channels, on broker a.
    await fetch(`http://${a.httpAddress}/topic/create?topic=fan`, { method: 'POST' });
    for (const channel of ['archive', 'index']) {
      await fetch(`http://${a.httpAddress}/channel/create?topic=fan&channel=${channel}`, { method: 'POST' });
    }
    await eventually(async () => (await getJson(`http://${l.httpAddress}/channels?topic=fan`)).body.channels.length === 2);

    const b = await broker([l.tcpAddress]);
    // b must have identified with the lookupd before it can ask it anything.
    await eventually(async () => (await getJson(`http://${l.httpAddress}/nodes`)).body.producers.some((p: { tcp_port: number }) => p.tcp_port === b.tcpPort));
    await publishHttp(b, 'fan', 'first');
    await eventually(async () => {
      const stats = (await getJson(`http://${b.httpAddress}/stats?format=json&topic=fan`)).body;
      const channels = stats.topics?.[0]?.channels ?? [];
      return channels.length === 2 && channels.every((c: { depth: number }) => c.depth === 1);
    });
  });
});
