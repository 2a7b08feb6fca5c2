import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLookupd, type LookupdHandle } from '../../broker/lookupd/index.ts';
import { LookupdRegistrar, type LookupdRegistrarOptions, type TopologyEntry } from '../../broker/nsqd/lookup-registration.ts';
import { eventually, http } from './lookupd-helpers.ts';

const lookupds: LookupdHandle[] = [];
const registrars: LookupdRegistrar[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

async function lookupd(tcpPort = 0): Promise<LookupdHandle> {
  const l = await startLookupd({ tcpAddress: `127.0.0.1:${tcpPort}`, httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' });
  lookupds.push(l);
  return l;
}

/** The broker's topology as a test controls it. */
class Topology {
  readonly topics = new Map<string, Set<string>>();
  snapshot = (): TopologyEntry[] => [...this.topics].map(([topic, channels]) => ({ topic, channels: [...channels] }));
  add(topic: string, channel?: string): void {
    const channels = this.topics.get(topic) ?? new Set();
    this.topics.set(topic, channels);
    if (channel !== undefined) channels.add(channel);
  }
}

function registrar(addresses: string[], topology: Topology, options: Partial<LookupdRegistrarOptions> = {}): LookupdRegistrar {
  const r = new LookupdRegistrar({
    lookupdTcpAddresses: addresses,
    identity: { broadcastAddress: 'nsqd-1', hostname: 'nsqd-1.local', tcpPort: 4150, httpPort: 4151, version: '1.3.0' },
    snapshot: topology.snapshot,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    ...options,
  });
  registrars.push(r);
  return r;
}

/** A TCP port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const lookupJson = async (l: LookupdHandle, topic: string) => (await http(l.httpAddress, `/lookup?topic=${topic}`)).json;
const producersOf = async (l: LookupdHandle, topic: string): Promise<string[] | undefined> => {
  const json = await lookupJson(l, topic);
  return json?.producers?.map((p: { broadcast_address: string }) => p.broadcast_address);
};
/** Resolves when /lookup for `topic` has exactly `count` producers. */
const waitProducers = (l: LookupdHandle, topic: string, count: number) =>
  eventually(async () => ((await producersOf(l, topic))?.length === count ? true : undefined), 5000, `${count} producers of ${topic}`);

afterEach(async () => {
  await Promise.all(registrars.splice(0).map((r) => r.close()));
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(lookupds.splice(0).map((l) => l.close()));
});

describe('LookupdRegistrar against the bundled lookupd', () => {
  it('registers the full topology on connect, with the identity in IDENTIFY', async () => {
    const l = await lookupd();
    const topology = new Topology();
    topology.add('lonely');
    topology.add('orders', 'billing');
    topology.add('orders', 'shipping');
    const r = registrar([l.tcpAddress], topology);
    expect(r.lookupdHttpAddresses()).toEqual([]);
    r.start();
    await waitProducers(l, 'lonely', 1);
    await waitProducers(l, 'orders', 1);
    expect((await http(l.httpAddress, '/channels?topic=orders')).json.channels.sort()).toEqual(['billing', 'shipping']);
    expect((await http(l.httpAddress, '/channels?topic=lonely')).json).toEqual({ channels: [] });
    const [node] = (await http(l.httpAddress, '/nodes')).json.producers;
    expect(node).toMatchObject({
      hostname: 'nsqd-1.local',
      broadcast_address: 'nsqd-1',
      tcp_port: 4150,
      http_port: 4151,
      version: '1.3.0',
      topics: expect.arrayContaining(['lonely', 'orders']),
    });
    expect(r.lookupdHttpAddresses()).toEqual([`127.0.0.1:${l.httpPort}`]);
  });

  it('forwards registrations and unregistrations as they happen', async () => {
    const l = await lookupd();
    const r = registrar([l.tcpAddress], new Topology());
    r.start();
    await eventually(async () => ((await http(l.httpAddress, '/nodes')).json.producers.length === 1 ? true : undefined));
    r.registerTopic('t');
    r.registerChannel('t', 'c#ephemeral');
    r.registerChannel('u', 'durable');
    await waitProducers(l, 't', 1);
    await waitProducers(l, 'u', 1);
    expect((await lookupJson(l, 't')).channels).toEqual(['c#ephemeral']);
    r.unregisterChannel('t', 'c#ephemeral');
    await eventually(async () => ((await lookupJson(l, 't')).channels.length === 0 ? true : undefined));
    r.unregisterTopic('u');
    await waitProducers(l, 'u', 0);
    // A durable channel stays listed after its producer left, as nsqlookupd keeps it.
    expect((await lookupJson(l, 'u')).channels).toEqual(['durable']);
    expect(await producersOf(l, 't')).toEqual(['nsqd-1']);
  });

  it('repopulates a lookupd restarted empty on the same port, including changes made while it was down', async () => {
    const first = await lookupd();
    const topology = new Topology();
    topology.add('before', 'c');
    const r = registrar([first.tcpAddress], topology);
    r.start();
    await waitProducers(first, 'before', 1);
    await first.close();
    // Changes while the lookupd is down are not queued; the next full registration carries them.
    topology.add('during');
    r.registerTopic('during');
    const second = await lookupd(first.tcpPort);
    await waitProducers(second, 'before', 1);
    await waitProducers(second, 'during', 1);
    expect((await http(second.httpAddress, '/channels?topic=before')).json).toEqual({ channels: ['c'] });
    expect(r.lookupdHttpAddresses()).toEqual([`127.0.0.1:${second.httpPort}`]);
  });

  it('never blocks on a lookupd that is down or silent, and still serves the live one', async () => {
    const live = await lookupd();
    // A lookupd that accepts and never answers.
    const silent = createServer((socket) => {
      sockets.push(socket);
      silentConnections++;
    });
    let silentConnections = 0;
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentAddress = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    const down = `127.0.0.1:${await deadPort()}`;
    const r = registrar([down, silentAddress, live.tcpAddress], new Topology(), { timeoutMs: 100 });
    r.start();
    const began = performance.now();
    for (let i = 0; i < 2000; i++) {
      r.registerTopic(`t${i % 50}`);
      r.registerChannel(`t${i % 50}`, 'c');
    }
    const elapsed = performance.now() - began;
    expect(elapsed).toBeLessThan(500);
    await eventually(async () => ((await http(live.httpAddress, '/nodes')).json.producers.length === 1 ? true : undefined));
    r.registerTopic('fresh');
    await waitProducers(live, 'fresh', 1);
    // The silent lookupd never answered IDENTIFY: the deadline dropped it and the registrar dialled again.
    await eventually(async () => (silentConnections >= 2 ? true : undefined), 5000, 'a redial of the silent lookupd');
    expect(r.lookupdHttpAddresses()).toEqual([`127.0.0.1:${live.httpPort}`]);
    const closing = performance.now();
    await r.close();
    expect(performance.now() - closing).toBeLessThan(1000);
  });

  it('PINGs to stay active in the lookupd', async () => {
    const l = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', inactiveProducerTimeoutMs: 150 });
    lookupds.push(l);
    const topology = new Topology();
    topology.add('kept');
    const r = registrar([l.tcpAddress], topology, { pingIntervalMs: 25 });
    r.start();
    await waitProducers(l, 'kept', 1);
    const lastUpdate = async (): Promise<bigint> => {
      const text = (await http(l.httpAddress, '/debug')).text;
      return BigInt(/"last_update":(\d+)/.exec(text)![1]!);
    };
    const first = await lastUpdate();
    // Several timeouts' worth of pings: last_update keeps moving and the producer stays listed.
    await eventually(async () => ((await lastUpdate()) - first > 450_000_000n ? true : undefined), 5000, 'pings');
    expect(await producersOf(l, 'kept')).toEqual(['nsqd-1']);
  });

  it('moves to a new lookupd list; close() is idempotent and drops the registrations', async () => {
    const a = await lookupd();
    const b = await lookupd();
    const topology = new Topology();
    topology.add('t');
    const r = registrar([a.tcpAddress], topology);
    r.start();
    await waitProducers(a, 't', 1);
    r.setLookupdTcpAddresses([b.tcpAddress]);
    await waitProducers(b, 't', 1);
    await waitProducers(a, 't', 0);
    expect(r.lookupdHttpAddresses()).toEqual([`127.0.0.1:${b.httpPort}`]);
    await Promise.all([r.close(), r.close()]);
    await waitProducers(b, 't', 0);
    r.registerTopic('after-close');
    r.start();
    expect((await http(b.httpAddress, '/topics')).json).toEqual({ topics: ['t'] });
  });
});
