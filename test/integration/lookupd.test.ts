import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startLookupd, type LookupdHandle, type LookupdOptionsInput } from '../../broker/lookupd/index.ts';
import { MAX_IDENTIFY_BODY_BYTES } from '../../broker/lookupd/tcp-protocol.ts';
import { eventually, http, identifyFrame, identityBody, V1Client } from './lookupd-helpers.ts';

/** nsqlookupd's PeerInfo fields, in the order it writes them (/lookup producers, and /nodes before its own two). */
const PEER_INFO_KEYS = ['remote_address', 'hostname', 'broadcast_address', 'tcp_port', 'http_port', 'version'];

let lookupd: LookupdHandle | undefined;
const clients: V1Client[] = [];

async function start(options: LookupdOptionsInput = {}): Promise<LookupdHandle> {
  lookupd = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: 'lookupd-bcast', ...options });
  return lookupd;
}

async function client(magic = true): Promise<V1Client> {
  const c = await V1Client.connect(lookupd!.tcpPort, magic);
  clients.push(c);
  return c;
}

/** A client that has identified (as nsqd `name`). */
async function nsqd(overrides: Record<string, unknown> = {}): Promise<V1Client> {
  const c = await client();
  const reply = await c.identify(identityBody(overrides));
  expect(reply.startsWith('{')).toBe(true);
  return c;
}

/** Sends a line, expects `reply`, and expects the lookupd to close the connection. */
async function expectFatal(c: V1Client, line: string | Buffer, reply: string): Promise<void> {
  c.write(typeof line === 'string' ? `${line}\n` : line);
  expect(await c.reply()).toBe(reply);
  await c.waitClosed();
}

const get = (path: string) => http(lookupd!.httpAddress, path);
const post = (path: string) => http(lookupd!.httpAddress, path, 'POST');

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await lookupd?.close();
  lookupd = undefined;
});

describe('lookupd TCP protocol V1', () => {
  it('refuses a bad magic with E_BAD_PROTOCOL and closes', async () => {
    await start();
    const c = await client(false);
    c.write('  V2');
    expect(await c.reply()).toBe('E_BAD_PROTOCOL');
    await c.waitClosed();
  });

  it('accepts a magic split across writes, PING before IDENTIFY, and trims lines', async () => {
    await start();
    const c = await client(false);
    c.write('  ');
    c.write('V1');
    expect(await c.command('PING')).toBe('OK');
    expect(await c.command('  PING \r')).toBe('OK');
    expect(c.closed).toBe(false);
  });

  it('answers IDENTIFY with the lookupd identity, keys sorted', async () => {
    const l = await start();
    const c = await client();
    const reply = await c.identify();
    expect(reply).toBe(
      `{"broadcast_address":"lookupd-bcast","hostname":${JSON.stringify(hostname())},"http_port":${l.httpPort},"tcp_port":${l.tcpPort},"version":"1.3.0"}`,
    );
  });

  it('accepts IDENTIFY keys in any letter case, as Go decodes them', async () => {
    await start();
    const c = await client();
    const reply = await c.identify({ BROADCAST_ADDRESS: 'h', Tcp_Port: 1, HTTP_PORT: 2, Version: 'v', unknown: [1] });
    expect(JSON.parse(reply).version).toBe('1.3.0');
    expect(await c.command('REGISTER t')).toBe('OK');
  });

  it('refuses a second IDENTIFY before reading any body', async () => {
    await start();
    const c = await nsqd();
    await expectFatal(c, 'IDENTIFY', 'E_INVALID cannot IDENTIFY again');
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['a JSON array', Buffer.from('[1]'), 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['a port as a string', Buffer.from(JSON.stringify(identityBody({ tcp_port: '4150' }))), 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['a fractional port', Buffer.from(JSON.stringify(identityBody({ http_port: 1.5 }))), 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['a version as a number', Buffer.from(JSON.stringify(identityBody({ version: 1 }))), 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['JSON null', Buffer.from('null'), 'E_BAD_BODY IDENTIFY missing fields'],
    ['no broadcast_address', Buffer.from(JSON.stringify(identityBody({ broadcast_address: '' }))), 'E_BAD_BODY IDENTIFY missing fields'],
    ['tcp_port 0', Buffer.from(JSON.stringify(identityBody({ tcp_port: 0 }))), 'E_BAD_BODY IDENTIFY missing fields'],
    ['no http_port', Buffer.from(JSON.stringify(identityBody({ http_port: null }))), 'E_BAD_BODY IDENTIFY missing fields'],
    ['no version', Buffer.from(JSON.stringify(identityBody({ version: '' }))), 'E_BAD_BODY IDENTIFY missing fields'],
  ])('refuses an IDENTIFY body that is %s', async (_what, body, reply) => {
    await start();
    const c = await client();
    await expectFatal(c, identifyFrame(body), reply);
  });

  it.each([
    ['negative', -1, 'E_BAD_BODY IDENTIFY failed to read body size'],
    ['zero', 0, 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['beyond the limit', MAX_IDENTIFY_BODY_BYTES + 1, 'E_BAD_BODY IDENTIFY failed to read body'],
  ])('refuses an IDENTIFY body size that is %s', async (_what, size, reply) => {
    await start();
    const c = await client();
    await expectFatal(c, identifyFrame(Buffer.alloc(0), size), reply);
  });

  it.each(['REGISTER', 'UNREGISTER'])('%s: every error text, each fatal', async (verb) => {
    await start();
    await expectFatal(await client(), `${verb} t`, 'E_INVALID client must IDENTIFY');
    await expectFatal(await nsqd(), verb, `E_INVALID ${verb} insufficient number of params`);
    await expectFatal(await nsqd(), `${verb} bad!topic`, `E_BAD_TOPIC ${verb} topic name 'bad!topic' is not valid`);
    // Split on single spaces, as Go's strings.Split: a double space makes an empty topic.
    await expectFatal(await nsqd(), `${verb}  t`, `E_BAD_TOPIC ${verb} topic name '' is not valid`);
    await expectFatal(await nsqd(), `${verb} t bad/channel`, `E_BAD_CHANNEL ${verb} channel name 'bad/channel' is not valid`);
    await expectFatal(await nsqd(), `${verb} ${'x'.repeat(65)}`, `E_BAD_TOPIC ${verb} topic name '${'x'.repeat(65)}' is not valid`);
  });

  it('refuses unknown and empty commands', async () => {
    await start();
    await expectFatal(await client(), 'FOO bar', 'E_INVALID invalid command FOO');
    await expectFatal(await client(), 'ping', 'E_INVALID invalid command ping');
    await expectFatal(await client(), '', 'E_INVALID invalid command ');
  });

  it('closes a connection that sends an endless line, and keeps serving others', async () => {
    await start();
    const bad = await client();
    bad.write(Buffer.alloc(20_000, 0x41));
    expect(await bad.reply()).toMatch(/^E_INVALID /);
    await bad.waitClosed();
    const good = await nsqd();
    expect(await good.command('REGISTER t')).toBe('OK');
  });

  it('a peer that writes without reading gets every reply once it reads, and others are served meanwhile', async () => {
    await start();
    const greedy = await client();
    greedy.socket.pause();
    const count = 200_000;
    greedy.write(Buffer.from('PING\n'.repeat(count)));
    const other = await nsqd();
    expect(await other.command('REGISTER t')).toBe('OK');
    greedy.socket.resume();
    await eventually(async () => (greedy.replies.length >= count || greedy.closed ? true : undefined), 10_000, 'every reply');
    expect(greedy.replies).toHaveLength(count);
    expect(greedy.replies.every((reply) => reply === 'OK')).toBe(true);
    expect(greedy.closed).toBe(false);
  });

  it('answers pipelined commands in order, from one chunk', async () => {
    await start();
    const c = await client();
    c.write(Buffer.concat([identifyFrame(Buffer.from(JSON.stringify(identityBody()))), Buffer.from('REGISTER a b\nPING\nUNREGISTER a b\n')]));
    expect((await c.reply()).startsWith('{')).toBe(true);
    expect([await c.reply(), await c.reply(), await c.reply()]).toEqual(['OK', 'OK', 'OK']);
  });
});

describe('lookupd registrations', () => {
  it('REGISTER t c lists the producer under the topic and the channel', async () => {
    await start();
    // A newer nsqd sends topology fields: lookupd v1.3.0 ignores them, like any field it does not know.
    const c = await nsqd({ broadcast_address: 'n1', tcp_port: 5150, http_port: 5151, topology_zone: 'z', topology_region: 'r' });
    expect(await c.command('REGISTER orders workers')).toBe('OK');
    const lookup = await get('/lookup?topic=orders');
    expect(lookup.status).toBe(200);
    expect(lookup.json.channels).toEqual(['workers']);
    expect(lookup.json.producers).toHaveLength(1);
    const producer = lookup.json.producers[0];
    expect(Object.keys(producer)).toEqual(PEER_INFO_KEYS);
    expect(producer).toMatchObject({ broadcast_address: 'n1', tcp_port: 5150, http_port: 5151 });
    expect(producer).not.toHaveProperty('topology_zone');
    expect(producer.remote_address).toBe(`127.0.0.1:${c.socket.localPort}`);
    expect((await get('/topics')).json).toEqual({ topics: ['orders'] });
    expect((await get('/channels?topic=orders')).json).toEqual({ channels: ['workers'] });
  });

  it('UNREGISTER t c keeps a durable channel and drops an ephemeral one', async () => {
    await start();
    const c = await nsqd();
    await c.command('REGISTER t durable');
    await c.command('REGISTER t tmp#ephemeral');
    expect((await get('/channels?topic=t')).json.channels.sort()).toEqual(['durable', 'tmp#ephemeral']);
    expect(await c.command('UNREGISTER t durable')).toBe('OK');
    expect(await c.command('UNREGISTER t tmp#ephemeral')).toBe('OK');
    expect((await get('/channels?topic=t')).json).toEqual({ channels: ['durable'] });
    // The topic registration itself is untouched by a channel UNREGISTER.
    expect((await get('/lookup?topic=t')).json.producers).toHaveLength(1);
  });

  it('an ephemeral channel stays while another producer still has it', async () => {
    await start();
    const a = await nsqd({ broadcast_address: 'a' });
    const b = await nsqd({ broadcast_address: 'b' });
    await a.command('REGISTER t c#ephemeral');
    await b.command('REGISTER t c#ephemeral');
    await a.command('UNREGISTER t c#ephemeral');
    expect((await get('/channels?topic=t')).json).toEqual({ channels: ['c#ephemeral'] });
    await b.command('UNREGISTER t c#ephemeral');
    expect((await get('/channels?topic=t')).json).toEqual({ channels: [] });
  });

  it('UNREGISTER t takes the producer off the topic and its channels; an ephemeral topic goes', async () => {
    await start();
    const c = await nsqd();
    await c.command('REGISTER t c');
    await c.command('REGISTER e#ephemeral');
    expect(await c.command('UNREGISTER t')).toBe('OK');
    expect(await c.command('UNREGISTER e#ephemeral')).toBe('OK');
    const lookup = await get('/lookup?topic=t');
    expect(lookup.json).toEqual({ channels: ['c'], producers: [] });
    expect((await get('/topics')).json).toEqual({ topics: ['t'] });
    expect(Object.keys((await get('/debug')).json)).toEqual(['client::']);
  });

  it('removes the producer from every key when its connection closes; keys stay', async () => {
    await start();
    const c = await nsqd();
    await c.command('REGISTER t c');
    expect((await get('/nodes')).json.producers).toHaveLength(1);
    c.destroy();
    await eventually(async () => ((await get('/lookup?topic=t')).json.producers.length === 0 ? true : undefined));
    expect((await get('/lookup?topic=t')).json).toEqual({ channels: ['c'], producers: [] });
    expect((await get('/nodes')).json).toEqual({ producers: [] });
    expect((await get('/debug')).json).toEqual({});
  });

  it('hides a producer not heard from within the inactivity timeout until it PINGs', async () => {
    await start({ inactiveProducerTimeoutMs: 200 });
    const c = await nsqd();
    await c.command('REGISTER t');
    expect((await get('/lookup?topic=t')).json.producers).toHaveLength(1);
    // REGISTER does not count as liveness: only IDENTIFY and PING do.
    await eventually(async () => {
      await c.command('REGISTER t');
      return (await get('/lookup?topic=t')).json.producers.length === 0 ? true : undefined;
    });
    expect((await get('/nodes')).json.producers).toEqual([]);
    expect(await c.command('PING')).toBe('OK');
    expect((await get('/lookup?topic=t')).json.producers).toHaveLength(1);
    expect((await get('/nodes')).json.producers).toHaveLength(1);
  });

  it('tombstones hide a node from /lookup for the lifetime, then it shows again', async () => {
    await start({ tombstoneLifetimeMs: 300 });
    const a = await nsqd({ broadcast_address: 'a', http_port: 1 });
    const b = await nsqd({ broadcast_address: 'b', http_port: 2 });
    for (const c of [a, b]) {
      await c.command('REGISTER t');
      await c.command('REGISTER other');
    }
    const tomb = await post('/topic/tombstone?topic=t&node=a:1');
    expect(tomb.status).toBe(200);
    expect(tomb.text).toBe('');
    expect((await get('/lookup?topic=t')).json.producers.map((p: { broadcast_address: string }) => p.broadcast_address)).toEqual(['b']);
    // Only that topic: the node still serves its other topics.
    expect((await get('/lookup?topic=other')).json.producers).toHaveLength(2);
    const nodes = (await get('/nodes')).json.producers as Array<{ broadcast_address: string; topics: string[]; tombstones: boolean[] }>;
    const nodeA = nodes.find((n) => n.broadcast_address === 'a')!;
    expect(nodeA.topics).toEqual(['t', 'other']);
    expect(nodeA.tombstones).toEqual([true, false]);
    const debug = (await get('/debug')).text;
    expect(debug).toMatch(/"tombstoned":true,"tombstoned_at":\d{19}/);
    await eventually(async () => ((await get('/lookup?topic=t')).json.producers.length === 2 ? true : undefined), 5000, 'tombstone expiry');
    expect((await get('/nodes')).json.producers.every((n: { tombstones: boolean[] }) => n.tombstones.every((t) => !t))).toBe(true);
  });
});

describe('lookupd HTTP API', () => {
  it('/ping is plain text without the V1 header; /info is V1 JSON', async () => {
    await start();
    const ping = await get('/ping');
    expect(ping).toMatchObject({ status: 200, text: 'OK' });
    expect(ping.headers.get('x-nsq-content-type')).toBeNull();
    const info = await get('/info');
    expect(info.text).toBe('{"version":"1.3.0"}');
    expect(info.headers.get('x-nsq-content-type')).toBe('nsq; version=1.0');
    expect(info.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('/lookup: missing topic, unknown topic, bad query, known topic without producers', async () => {
    await start();
    expect(await get('/lookup')).toMatchObject({ status: 400, text: '{"message":"MISSING_ARG_TOPIC"}' });
    expect(await get('/lookup?topic=nope')).toMatchObject({ status: 404, text: '{"message":"TOPIC_NOT_FOUND"}' });
    expect(await get('/lookup?topic=a;b')).toMatchObject({ status: 400, text: '{"message":"INVALID_REQUEST"}' });
    expect(await get('/lookup?topic=%zz')).toMatchObject({ status: 400, text: '{"message":"INVALID_REQUEST"}' });
    expect((await post('/topic/create?topic=known')).status).toBe(200);
    expect(await get('/lookup?topic=known')).toMatchObject({ status: 200, text: '{"channels":[],"producers":[]}' });
    expect(await get('/lookup?topic=kn%6Fwn&x')).toMatchObject({ status: 200 });
  });

  it('/topics and /channels start empty; /channels needs a topic', async () => {
    await start();
    expect((await get('/topics')).text).toBe('{"topics":[]}');
    expect((await get('/channels?topic=none')).text).toBe('{"channels":[]}');
    expect(await get('/channels')).toMatchObject({ status: 400, text: '{"message":"MISSING_ARG_TOPIC"}' });
  });

  it('/topic/create and /topic/delete', async () => {
    await start();
    expect(await post('/topic/create')).toMatchObject({ status: 400, json: { message: 'MISSING_ARG_TOPIC' } });
    expect(await post('/topic/create?topic=bad!')).toMatchObject({ status: 400, json: { message: 'INVALID_ARG_TOPIC' } });
    expect(await post('/topic/create?topic=')).toMatchObject({ status: 400, json: { message: 'INVALID_ARG_TOPIC' } });
    const created = await post('/topic/create?topic=t1');
    expect(created).toMatchObject({ status: 200, text: '' });
    expect(created.headers.get('x-nsq-content-type')).toBe('nsq; version=1.0');
    expect(created.headers.get('content-type')).toBeNull();
    await post('/channel/create?topic=t1&channel=c1');
    expect((await get('/topics')).json).toEqual({ topics: ['t1'] });
    expect(await post('/topic/delete')).toMatchObject({ status: 400, json: { message: 'MISSING_ARG_TOPIC' } });
    expect(await post('/topic/delete?topic=never!seen')).toMatchObject({ status: 200, text: '' });
    expect(await post('/topic/delete?topic=t1')).toMatchObject({ status: 200, text: '' });
    expect((await get('/topics')).json).toEqual({ topics: [] });
    expect((await get('/channels?topic=t1')).json).toEqual({ channels: [] });
  });

  it('/channel/create and /channel/delete', async () => {
    await start();
    expect(await post('/channel/create?channel=c')).toMatchObject({ status: 400, json: { message: 'MISSING_ARG_TOPIC' } });
    expect(await post('/channel/create?topic=b@d&channel=c')).toMatchObject({ status: 400, json: { message: 'INVALID_ARG_TOPIC' } });
    expect(await post('/channel/create?topic=t')).toMatchObject({ status: 400, json: { message: 'MISSING_ARG_CHANNEL' } });
    expect(await post('/channel/create?topic=t&channel=b@d')).toMatchObject({ status: 400, json: { message: 'INVALID_ARG_CHANNEL' } });
    expect(await post('/channel/create?topic=t&channel=c')).toMatchObject({ status: 200, text: '' });
    expect((await get('/topics')).json).toEqual({ topics: ['t'] });
    expect((await get('/lookup?topic=t')).json).toEqual({ channels: ['c'], producers: [] });
    expect(await post('/channel/delete?topic=t&channel=other')).toMatchObject({ status: 404, json: { message: 'CHANNEL_NOT_FOUND' } });
    expect(await post('/channel/delete?topic=t&channel=b@d')).toMatchObject({ status: 400, json: { message: 'INVALID_ARG_CHANNEL' } });
    expect(await post('/channel/delete?topic=t&channel=c')).toMatchObject({ status: 200, text: '' });
    expect((await get('/channels?topic=t')).json).toEqual({ channels: [] });
  });

  it('/topic/tombstone needs a topic and a node, and ignores a node that matches nothing', async () => {
    await start();
    expect(await post('/topic/tombstone?node=a:1')).toMatchObject({ status: 400, json: { message: 'MISSING_ARG_TOPIC' } });
    expect(await post('/topic/tombstone?topic=t')).toMatchObject({ status: 400, json: { message: 'MISSING_ARG_NODE' } });
    const c = await nsqd({ broadcast_address: 'a', http_port: 1 });
    await c.command('REGISTER t');
    expect(await post('/topic/tombstone?topic=t&node=a:2')).toMatchObject({ status: 200, text: '' });
    expect((await get('/lookup?topic=t')).json.producers).toHaveLength(1);
  });

  it('/nodes lists each identified peer with parallel topics and tombstones', async () => {
    await start();
    expect((await get('/nodes')).text).toBe('{"producers":[]}');
    const idle = await nsqd({ broadcast_address: 'idle' });
    const busy = await nsqd({ broadcast_address: 'busy' });
    await busy.command('REGISTER t1 c');
    await busy.command('REGISTER t2');
    const nodes = (await get('/nodes')).json.producers as Array<Record<string, unknown>>;
    expect(nodes).toHaveLength(2);
    expect(Object.keys(nodes[0]!)).toEqual([...PEER_INFO_KEYS, 'tombstones', 'topics']);
    const byName = new Map(nodes.map((n) => [n.broadcast_address, n]));
    expect(byName.get('idle')).toMatchObject({ topics: [], tombstones: [], remote_address: `127.0.0.1:${idle.socket.localPort}` });
    expect(byName.get('busy')).toMatchObject({ topics: ['t1', 't2'], tombstones: [false, false] });
  });

  it('/debug lists keys with producers, sorted, with int64 nanosecond times', async () => {
    await start();
    expect((await get('/debug')).text).toBe('{}');
    const before = BigInt(Date.now()) * 1_000_000n;
    const c = await nsqd({ broadcast_address: 'd', hostname: 'dh', tcp_port: 7, http_port: 8, topology_zone: 'z', topology_region: 'r' });
    await c.command('REGISTER t c');
    await post('/topic/create?topic=empty');
    const debug = await get('/debug');
    expect(debug.headers.get('x-nsq-content-type')).toBe('nsq; version=1.0');
    expect(Object.keys(debug.json)).toEqual(['channel:t:c', 'client::', 'topic:t:']);
    const id = `127.0.0.1:${c.socket.localPort}`;
    const entry = new RegExp(
      `^\\{"broadcast_address":"d","hostname":"dh","http_port":8,"id":"${id}","last_update":(\\d{19}),"tcp_port":7,` +
        `"tombstoned":false,"tombstoned_at":-6795364578871345152,"version":"1.3.0"\\}$`,
    );
    const first = debug.text.slice('{"channel:t:c":['.length, debug.text.indexOf(']'));
    const match = entry.exec(first);
    expect(match).not.toBeNull();
    const lastUpdate = BigInt(match![1]!);
    expect(lastUpdate >= before - 1_000_000n && lastUpdate <= BigInt(Date.now()) * 1_000_000n).toBe(true);
  });

  it('404 NOT_FOUND, 405 METHOD_NOT_ALLOWED with Allow, OPTIONS, redirects', async () => {
    await start();
    const missing = await get('/nope');
    expect(missing).toMatchObject({ status: 404, text: '{"message":"NOT_FOUND"}' });
    expect(missing.headers.get('x-nsq-content-type')).toBe('nsq; version=1.0');
    const wrongPost = await post('/lookup?topic=t');
    expect(wrongPost).toMatchObject({ status: 405, text: '{"message":"METHOD_NOT_ALLOWED"}' });
    expect(wrongPost.headers.get('allow')).toBe('GET, OPTIONS');
    const wrongGet = await get('/topic/create?topic=t');
    expect(wrongGet).toMatchObject({ status: 405, text: '{"message":"METHOD_NOT_ALLOWED"}' });
    expect(wrongGet.headers.get('allow')).toBe('OPTIONS, POST');
    expect((await http(lookupd!.httpAddress, '/topics', 'DELETE')).status).toBe(405);
    expect((await get('/topics')).json).toEqual({ topics: [] });
    const options = await http(lookupd!.httpAddress, '/nodes', 'OPTIONS');
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toBe('GET, OPTIONS');
    const slash = await get('/lookup/?topic=t');
    expect(slash.status).toBe(301);
    expect(slash.headers.get('location')).toBe('/lookup?topic=t');
    expect((await get('/LOOKUP')).headers.get('location')).toBe('/lookup');
    const postSlash = await post('/topic/create/?topic=t');
    expect(postSlash.status).toBe(307);
    expect(postSlash.headers.get('location')).toBe('/topic/create?topic=t');
  });
});
