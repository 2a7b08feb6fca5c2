/**
 * `nsqworker pub`, `tail` and `stats` as a user runs them: the real bin/nsqworker.js in a child
 * process, against bundled brokers (and a lookupd) on port 0 in temp directories. Output is read
 * line by line with deadlines; every child still running is killed after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLookupd, type LookupdHandle } from '../../broker/lookupd/server.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { rawFlagValues } from '../../runner/tools/args.ts';
import { LineSplitter } from '../../runner/tools/line-splitter.ts';
import { HEADER_COLUMNS as TABLE_COLUMNS, StatsTable, type ChannelTotals } from '../../runner/tools/stats-table.ts';
import { BrokerPool, uniqueTopic, waitFor, type TestBroker } from '../support/brokers.ts';
import { grantAll, startAuthServer } from '../support/auth-server.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nsqworker.js');
const HEADER_RULE = '-----------depth------------+--------------metadata---------------';
const HEADER_COLUMNS = '   total    mem    disk inflt   def |     req     t-o         msgs clients';

/** A running `nsqworker` child: its stdout as lines, its stderr as text, and its exit. */
class CliProcess {
  readonly lines: string[] = [];
  stderr = '';
  private partial = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      const parts = (this.partial + text).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => (this.stderr += text));
    // 'close', not 'exit': by then stdout and stderr have been read to the end.
    this.exited = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** Waits until stdout holds at least `count` complete lines. */
  async waitForLines(count: number, timeoutMs = 10_000): Promise<string[]> {
    await waitFor(() => this.lines.length >= count || this.child.exitCode !== null, `${count} lines of output`, timeoutMs);
    if (this.lines.length < count) throw new Error(`exited with ${this.lines.length} lines; stderr: ${this.stderr}`);
    return this.lines;
  }

  /** The exit code, within a deadline. */
  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs}ms; stderr: ${this.stderr}`)), timeoutMs);
    });
    try {
      return (await Promise.race([this.exited, timeout])).code;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * What one test started, so that tests can run concurrently and each afterEach cleans up exactly
 * its own children, clients, lookupds and brokers.
 */
class Fixture {
  readonly children: CliProcess[] = [];
  readonly brokers = new BrokerPool();
  readonly lookupds: LookupdHandle[] = [];
  readonly clients: Array<{ close(): Promise<void> }> = [];

  cli(args: string[], stdin?: string): CliProcess {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc = new CliProcess(child);
    this.children.push(proc);
    if (stdin !== undefined) child.stdin!.end(stdin);
    return proc;
  }

  producer(broker: TestBroker): Producer {
    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });
    this.clients.push(producer);
    return producer;
  }

  async lookupd(): Promise<LookupdHandle> {
    const lookupd = await startLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1' });
    this.lookupds.push(lookupd);
    return lookupd;
  }

  async cleanup(): Promise<void> {
    for (const proc of this.children) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    for (const client of this.clients) await client.close();
    for (const lookupd of this.lookupds) await lookupd.close();
    await this.brokers.closeAll();
  }
}

const fixtures = new Map<string, Fixture>();

beforeEach(({ task }) => {
  fixtures.set(task.id, new Fixture());
});

afterEach(async ({ task }) => {
  const fixture = fixtures.get(task.id);
  fixtures.delete(task.id);
  await fixture?.cleanup();
});

function fixtureOf(task: { id: string }): Fixture {
  return fixtures.get(task.id)!;
}

/** Receives `count` messages from `topic` on a fresh channel, in arrival order, with nsqd's publish time. */
async function consumeMessages(fx: Fixture, broker: TestBroker, topic: string, count: number): Promise<Array<{ body: string; publishedAtMs: number }>> {
  const received: Array<{ body: string; publishedAtMs: number }> = [];
  const consumer = new Consumer({ topic, channel: 'check', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 1000 }, (message) => {
    received.push({ body: message.text(), publishedAtMs: message.timestamp / 1e6 });
  });
  fx.clients.push(consumer);
  consumer.start();
  await waitFor(() => received.length >= count, `${count} messages on ${topic}`);
  return received;
}

async function consumeBodies(fx: Fixture, broker: TestBroker, topic: string, count: number): Promise<string[]> {
  return (await consumeMessages(fx, broker, topic, count)).map((m) => m.body);
}

interface ChannelNumbers {
  depth: number;
  in_flight_count: number;
  client_count: number;
}

/** A topic's message count and one of its channels, from /stats (undefined while they do not exist). */
async function topicStats(broker: TestBroker, topic: string, channel = ''): Promise<{ messages: number; channel: ChannelNumbers | undefined }> {
  const response = await fetch(`http://${broker.httpAddress}/stats?format=json&topic=${topic}&include_clients=false`);
  type Reply = { topics: Array<{ topic_name: string; message_count: number; channels: Array<ChannelNumbers & { channel_name: string }> }> | null };
  const found = ((await response.json()) as Reply).topics?.find((t) => t.topic_name === topic);
  return { messages: found?.message_count ?? 0, channel: found?.channels.find((c) => c.channel_name === channel) };
}

async function createChannel(broker: TestBroker, topic: string, channel: string): Promise<void> {
  expect((await fetch(`http://${broker.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' })).status).toBe(200);
  expect((await fetch(`http://${broker.httpAddress}/channel/create?topic=${topic}&channel=${channel}`, { method: 'POST' })).status).toBe(200);
}

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A port whose connects hang: a listener (python, which can listen without accepting) with a
 * backlog of 0, filled by one connection held open, so that the kernel drops the next SYNs.
 */
async function hangingPort(): Promise<{ port: number; close: () => void }> {
  const listener = spawn('python3', ['-c', "import socket, sys\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)\nprint(s.getsockname()[1], flush=True)\nsys.stdin.read()"], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(listener.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const filler = connect(port, '127.0.0.1');
  await once(filler, 'connect');
  return {
    port,
    close: () => {
      filler.destroy();
      listener.stdin!.end();
    },
  };
}

/** A table row's nine numbers: total mem disk inflt def req t-o msgs clients. */
function rowNumbers(row: string): number[] {
  return row.replace('|', ' ').trim().split(/\s+/).map(Number);
}

// Each test spawns its own processes against its own brokers, so they run side by side.
describe.concurrent('nsqworker pub', () => {
  it('publishes each argument as a message, in order, and reports the count on stderr', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    // An all-digit topic: flag parsing must not turn it into a number.
    const topic = `${Date.now()}${process.pid}`;
    const pub = fx.cli(['pub', '--topic', topic, '--nsqd-tcp-address', broker.tcpAddress, 'first', '007', '{"id":3}']);
    expect(await pub.exitCode()).toBe(0);
    expect(pub.stderr).toContain(`published 3 messages to ${topic}`);
    expect(await consumeBodies(fx, broker, topic, 3)).toEqual(['first', '007', '{"id":3}']);
  });

  it('counts one message in the singular', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const pub = fx.cli(['pub', '--topic', 'one_message', '--nsqd-tcp-address', broker.tcpAddress, 'only']);
    expect(await pub.exitCode()).toBe(0);
    expect(pub.stderr).toContain('published 1 message to one_message\n');
  });

  it('publishes one message per line of stdin, skipping empty lines, in batches', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('pub-stdin');
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    // Empty lines in the middle, and a last line with no newline after it.
    const input = `${lines.slice(0, 10).join('\n')}\n\n\n${lines.slice(10).join('\n')}`;
    const pub = fx.cli(['pub', '--topic', topic, '--nsqd-tcp-address', broker.tcpAddress], input);
    expect(await pub.exitCode()).toBe(0);
    expect(pub.stderr).toContain(`published 5000 messages to ${topic}`);
    expect((await topicStats(broker, topic)).messages).toBe(5000);
    expect(await consumeBodies(fx, broker, topic, 5000)).toEqual(lines);
  });

  it('splits at --delimiter and paces messages with --rate', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('pub-rate');
    const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const pub = fx.cli(['pub', '--topic', topic, '--nsqd-tcp-address', broker.tcpAddress, '--delimiter', '\\t', '--rate', '100'], `${bodies.join('\t\t')}\t`);
    expect(await pub.exitCode()).toBe(0);
    expect(pub.stderr).toContain(`published 20 messages to ${topic}`);
    const received = await consumeMessages(fx, broker, topic, 20);
    expect(received.map((m) => m.body)).toEqual(bodies);
    // 20 messages at 100/s: nsqd took the last one 190 ms after the first (unthrottled, a few ms).
    expect(received[19]!.publishedAtMs - received[0]!.publishedAtMs).toBeGreaterThanOrEqual(180);
  });

  it('exits 1 when nsqd refuses a message or cannot be reached', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start({ maxMsgSize: 16 });
    const topic = uniqueTopic('pub-refused');
    const refused = fx.cli(['pub', '--topic', topic, '--nsqd-tcp-address', broker.tcpAddress, 'short', 'x'.repeat(64)]);
    const unreachable = fx.cli(['pub', '--topic', topic, '--nsqd-tcp-address', `127.0.0.1:${await closedPort()}`, 'hello']);
    expect(await refused.exitCode()).toBe(1);
    expect(refused.stderr).toMatch(/nsqworker pub: .*E_BAD_MESSAGE/);
    expect(refused.stderr).toContain(`(0 messages published to ${topic})`);
    expect(await unreachable.exitCode()).toBe(1);
    expect(unreachable.stderr).toMatch(/nsqworker pub: .*no nsqd reachable/);
    // tail too, as nsq_tail exits when its first connect fails: one line, not one per reconnect for ever.
    const port = await closedPort();
    const tailUnreachable = fx.cli(['tail', '--topic', topic, '--nsqd-tcp-address', `127.0.0.1:${port}`]);
    expect(await tailUnreachable.exitCode()).toBe(1);
    expect(tailUnreachable.stderr).toBe(`nsqworker tail: 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    // The TCP port given for the HTTP one: said so, not only Node's parser error.
    const tcpForHttp = fx.cli(['stats', '--topic', topic, '--channel', 'c', '--nsqd-http-address', broker.tcpAddress, '--count', '1']);
    expect(await tcpForHttp.exitCode()).toBe(1);
    expect(tcpForHttp.stderr).toContain(`${broker.tcpAddress} answered with something other than HTTP`);
    expect(tcpForHttp.stderr).toContain('is it an nsqd or lookupd TCP port?');
    // And the HTTP port given to tail for the TCP one: said once, exit 1 (it reconnected for ever).
    const httpForTcp = fx.cli(['tail', '--topic', topic, '--nsqd-tcp-address', broker.httpAddress]);
    expect(await httpForTcp.exitCode()).toBe(1);
    expect(httpForTcp.stderr).toBe(`nsqworker tail: ${broker.httpAddress}: received an HTTP response: this address is an HTTP port, not an NSQ TCP port\n`);
  });

  it('names the flag to change when nsqd refuses the AUTH settings, in pub and in tail', async ({ task }) => {
    const fx = fixtureOf(task);
    const auth = await startAuthServer((params) => (params.secret === 'right' ? grantAll() : { kind: 'status', status: 403, body: 'no' }));
    fx.clients.push(auth);
    const broker = await fx.brokers.start({ authHttpAddresses: [auth.address] });
    const topic = uniqueTopic('pub-auth');
    const address = ['--nsqd-tcp-address', broker.tcpAddress];
    const noSecret = fx.cli(['pub', '--topic', topic, ...address, 'x']);
    const wrongSecret = fx.cli(['pub', '--topic', topic, ...address, '--auth-secret', 'wrong', 'x']);
    const tail = fx.cli(['tail', '--topic', topic, ...address]);
    expect(await noSecret.exitCode()).toBe(1);
    expect(noSecret.stderr).toMatch(/^nsqworker pub: .*requires AUTH and no authSecret is set: give its secret with --auth-secret \(0 messages published to /);
    expect(await wrongSecret.exitCode()).toBe(1);
    expect(wrongSecret.stderr).toMatch(/^nsqworker pub: .*E_AUTH_FAILED.*: nsqd's auth server refused this --auth-secret, or nsqd could not ask it/);
    // Refused before it subscribed anywhere: exit 1, as nsq_tail does.
    expect(await tail.exitCode()).toBe(1);
    expect(tail.stderr).toMatch(/^nsqworker tail: .*requires AUTH and no authSecret is set: give its secret with --auth-secret\n$/);
  });

  it('pub and tail say when nsqd does not turn on the compression asked for', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start({ snappy: false, deflate: false });
    const topic = uniqueTopic('pub-plain');
    const address = ['--nsqd-tcp-address', broker.tcpAddress];
    const pub = fx.cli(['pub', '--topic', topic, ...address, '--snappy', 'one']);
    expect(await pub.exitCode()).toBe(0);
    expect(pub.stderr).toBe(`nsqworker pub: ${broker.tcpAddress} did not turn on snappy (nsqd runs with --snappy=false): this connection is not compressed\npublished 1 message to ${topic}\n`);
    const tail = fx.cli(['tail', '--topic', topic, ...address, '--deflate', '-n', '1']);
    expect(await tail.exitCode()).toBe(0);
    expect(tail.lines).toEqual(['one']);
    expect(tail.stderr).toBe(`nsqworker tail: ${broker.tcpAddress} did not turn on deflate (nsqd runs with --deflate=false): this connection is not compressed\n`);
  });

  it('tail exits 1 when one of its nsqd never answers, though the other subscribed first', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const hanging = await hangingPort();
    try {
      const tail = fx.cli(['tail', '--topic', uniqueTopic('tail-two'), '--nsqd-tcp-address', broker.tcpAddress, '--nsqd-tcp-address', `127.0.0.1:${hanging.port}`]);
      // The good one subscribes at once; the other's connect times out (5 s) before it ever did.
      expect(await tail.exitCode()).toBe(1);
      expect(tail.stderr).toBe(`nsqworker tail: connecting to 127.0.0.1:${hanging.port} timed out after 5000ms\n`);
    } finally {
      hanging.close();
    }
  });

  it('stats gives up an nsqd whose connect hangs after --http-client-connect-timeout, as nsq_stat', async ({ task }) => {
    const fx = fixtureOf(task);
    const hanging = await hangingPort();
    try {
      const stats = fx.cli(['stats', '--topic', 't', '--channel', 'c', '--nsqd-http-address', `127.0.0.1:${hanging.port}`, '--http-client-connect-timeout', '300ms', '--count', '1']);
      expect(await stats.exitCode()).toBe(1);
      expect(stats.stderr).toContain(`127.0.0.1:${hanging.port}: no connection within 300 ms`);
    } finally {
      hanging.close();
    }
  });

  it('exits 2 on bad flags, naming the flag, before touching the network', async ({ task }) => {
    const fx = fixtureOf(task);
    const cases: Array<[string[], string]> = [
      [['pub', 'body'], '--topic is required'],
      [['pub', '--topic', 't', '--rate=-1', 'body'], '--rate takes a whole number >= 0'],
      [['pub', '--topic', 't', '--delimiter', 'ab'], '--delimiter must be one byte'],
      [['tail', '--topic', 'bad topic!'], '--topic: invalid topic name'],
      [['tail', '--topic', 't', '--max-in-flight', '0'], '--max-in-flight takes a whole number >= 1'],
      [['tail', '--topic', 't', '--nsqd-tcp-address', '127.0.0.1:1', '--lookupd-http-address', '127.0.0.1:2'], 'not both'],
      [['stats', '--topic', 't', '--nsqd-http-address', 'nowhere'], '--channel is required'],
      [['stats', '--topic', 't', '--channel', 'c', '--interval', 'soon'], '--interval: invalid duration'],
      [['stats', '--topic', 't', '--channel', 'c', '--interval', '1'], '--interval: time: missing unit in duration "1"'],
      [['stats', '--topic', 't', '--channel', 'c', '--count', '0'], '--count takes a whole number >= 1'],
      [['stats', '--topic', 't', '--channel', 'c', '--http-client-connect-timeout', '2'], '--http-client-connect-timeout: time: missing unit in duration "2"'],
      [['stats', '--topic', 't', '--channel', 'c', '--bogus'], 'unknown flag --bogus'],
      // Go's one-dash long flags, as to_nsq and nsq_stat take them: named as typed, not as the letter -t.
      [['pub', '-topic=t', 'body'], 'unknown flag -topic; did you mean --topic? (flags take two dashes here'],
      [['stats', '-interval', '1s', '--topic', 't', '--channel', 'c'], 'unknown flag -interval; did you mean --interval?'],
      // stats speaks HTTP only: TLS applies, compression and AUTH (TCP protocol features) do not.
      [['stats', '--topic', 't', '--channel', 'c', '--snappy'], 'unknown flag --snappy'],
      [['stats', '--topic', 't', '--channel', 'c', '--auth-secret', 's'], 'unknown flag --auth-secret'],
    ];
    const runs = cases.map(([args]) => fx.cli(args));
    const codes = await Promise.all(runs.map((run) => run.exitCode()));
    cases.forEach(([args, message], i) => {
      expect({ args, code: codes[i], stdout: runs[i]!.lines }).toEqual({ args, code: 2, stdout: [] });
      expect(runs[i]!.stderr, args.join(' ')).toContain(message);
    });
  });
});

describe.concurrent('nsqworker tail', () => {
  it('prints n bodies and exits 0; what arrived past n goes back to the channel', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('tail-n');
    await createChannel(broker, topic, 'watch');
    await fx.producer(broker).publishMany(topic, ['a', 'b', 'c', 'd', 'e']);
    const tail = fx.cli(['tail', '--topic', topic, '--channel', 'watch', '--nsqd-tcp-address', broker.tcpAddress, '-n', '2']);
    expect(await tail.exitCode()).toBe(0);
    expect(tail.lines).toEqual(['a', 'b']);
    // Nothing left in flight: the three it did not print are ready for the next consumer at once.
    await waitFor(async () => (await topicStats(broker, topic, 'watch')).channel?.depth === 3, 'three messages back in the channel');
    expect((await topicStats(broker, topic, 'watch')).channel?.in_flight_count).toBe(0);
  });

  it('prints the topic with --print-topic, on its own ephemeral channel by default', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('tail-print');
    // The topic has no channel yet, so it keeps these for the first one: the tail's.
    await fx.producer(broker).publishMany(topic, ['one', 'two', 'three']);
    const tail = fx.cli(['tail', '--topic', topic, '--nsqd-tcp-address', broker.tcpAddress, '--n', '3', '--print-topic']);
    expect(await tail.exitCode()).toBe(0);
    expect(tail.lines).toEqual([`${topic} | one`, `${topic} | two`, `${topic} | three`]);
  });

  it('prints messages as they come until SIGTERM, then exits 0', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('tail-live');
    const tail = fx.cli(['tail', '--topic', topic, '--channel', 'live', '--nsqd-tcp-address', broker.tcpAddress]);
    await waitFor(async () => (await topicStats(broker, topic, 'live')).channel?.client_count === 1, 'the tail to subscribe');
    const producer = fx.producer(broker);
    await producer.publish(topic, 'x1');
    await producer.publish(topic, 'x2');
    expect(await tail.waitForLines(2)).toEqual(['x1', 'x2']);
    tail.child.kill('SIGTERM');
    expect(await tail.exitCode()).toBe(0);
  });

  it('finds the nsqd through lookupd', async ({ task }) => {
    const fx = fixtureOf(task);
    const lookupd = await fx.lookupd();
    const broker = await fx.brokers.start({ lookupdTcpAddresses: [lookupd.tcpAddress] });
    const topic = uniqueTopic('tail-lookupd');
    await fx.producer(broker).publishMany(topic, ['p', 'q']);
    await waitFor(async () => (await fetch(`http://${lookupd.httpAddress}/lookup?topic=${topic}`)).status === 200, 'the topic in lookupd');
    const tail = fx.cli(['tail', '--topic', topic, '--lookupd-http-address', lookupd.httpAddress, '-n', '2']);
    expect(await tail.exitCode()).toBe(0);
    expect(tail.lines).toEqual(['p', 'q']);
  });
});

describe.concurrent('nsqworker stats', () => {
  it('prints the header and one row per poll, summed over every nsqd, then exits', async ({ task }) => {
    const fx = fixtureOf(task);
    const [first, second] = [await fx.brokers.start(), await fx.brokers.start()];
    const topic = uniqueTopic('stats-sum');
    await createChannel(first, topic, 'c');
    await createChannel(second, topic, 'c');
    await fx.producer(first).publishMany(topic, ['1', '2']);
    await fx.producer(second).publishMany(topic, ['3', '4', '5']);
    const stats = fx.cli([
      'stats',
      '--topic',
      topic,
      '--channel',
      'c',
      '--nsqd-http-address',
      first.httpAddress,
      '--nsqd-http-address',
      second.httpAddress,
      '--interval',
      '50ms',
      '--count',
      '2',
    ]);
    expect(await stats.exitCode()).toBe(0);
    expect(stats.lines).toHaveLength(4);
    expect(stats.lines.slice(0, 2)).toEqual([HEADER_RULE, HEADER_COLUMNS]);
    expect(rowNumbers(stats.lines[2]!)).toEqual([5, 5, 0, 0, 0, 0, 0, 5, 0]);
    // After the first poll, msgs counts what arrived since the previous one.
    expect(rowNumbers(stats.lines[3]!)).toEqual([5, 5, 0, 0, 0, 0, 0, 0, 0]);
    // The columns line up under the header.
    expect(stats.lines[2]!.length).toBe(HEADER_COLUMNS.length);
    expect(stats.lines[2]!.indexOf('|')).toBe(HEADER_COLUMNS.indexOf('|'));
  });

  it('counts in-flight messages and clients, counts msgs per interval, and polls until SIGTERM', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('stats-rate');
    await createChannel(broker, topic, 'c');
    const producer = fx.producer(broker);
    await producer.publishMany(topic, ['a', 'b']);
    // A consumer that holds what it gets: one message in flight, one client.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const consumer = new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 1, closeTimeoutMs: 1000 }, () => held);
    fx.clients.push({ close: () => (release(), consumer.close()) });
    consumer.start();
    await waitFor(async () => (await topicStats(broker, topic, 'c')).channel?.in_flight_count === 1, 'one message in flight');

    const stats = fx.cli(['stats', '--topic', topic, '--channel', 'c', '--nsqd-http-address', broker.httpAddress, '--interval', '50ms']);
    await stats.waitForLines(3);
    expect(rowNumbers(stats.lines[2]!)).toEqual([1, 1, 0, 1, 0, 0, 0, 2, 1]);
    await producer.publishMany(topic, ['c', 'd', 'e']);
    await waitFor(() => stats.lines.slice(2).some((row) => rowNumbers(row)[0] === 4), 'a row with the new depth');
    const rows = stats.lines.slice(2).map(rowNumbers);
    // Every message is counted once, in the interval it arrived in.
    expect(rows.reduce((sum, row) => sum + row[7]!, 0)).toBe(5);
    stats.child.kill('SIGTERM');
    expect(await stats.exitCode()).toBe(0);
  });

  it('finds the nsqd through lookupd', async ({ task }) => {
    const fx = fixtureOf(task);
    const lookupd = await fx.lookupd();
    const broker = await fx.brokers.start({ lookupdTcpAddresses: [lookupd.tcpAddress] });
    const topic = uniqueTopic('stats-lookupd');
    await createChannel(broker, topic, 'c');
    await fx.producer(broker).publishMany(topic, ['a', 'b', 'c']);
    await waitFor(async () => (await fetch(`http://${lookupd.httpAddress}/lookup?topic=${topic}`)).status === 200, 'the topic in lookupd');
    const stats = fx.cli(['stats', '--topic', topic, '--channel', 'c', '--lookupd-http-address', lookupd.httpAddress, '--count', '1']);
    expect(await stats.exitCode()).toBe(0);
    expect(stats.lines).toHaveLength(3);
    expect(rowNumbers(stats.lines[2]!)).toEqual([3, 3, 0, 0, 0, 0, 0, 3, 0]);
  });

  it('exits 1 naming the topic and channel when no nsqd has the channel', async ({ task }) => {
    const fx = fixtureOf(task);
    const broker = await fx.brokers.start();
    const topic = uniqueTopic('stats-missing');
    await createChannel(broker, topic, 'other');
    const stats = fx.cli(['stats', '--topic', topic, '--channel', 'absent', '--nsqd-http-address', broker.httpAddress, '--count', '1']);
    expect(await stats.exitCode()).toBe(1);
    expect(stats.stderr).toContain(`failed to find channel(absent) in stats metadata for topic(${topic})`);
    expect(stats.stderr).not.toContain('did you mean');
    expect(stats.lines).toEqual([]);
    // A typo of a channel there, or of a worker's channel its task channels name: the one meant.
    await createChannel(broker, topic, 'work.count');
    const [typo, workerTypo] = [
      fx.cli(['stats', '--topic', topic, '--channel', 'otehr', '--nsqd-http-address', broker.httpAddress, '--count', '1']),
      fx.cli(['stats', '--topic', topic, '--channel', 'wrok', '--nsqd-http-address', broker.httpAddress, '--count', '1']),
    ];
    expect(await typo.exitCode()).toBe(1);
    expect(typo.stderr.trim()).toMatch(/; did you mean --channel other\?$/);
    expect(await workerTypo.exitCode()).toBe(1);
    expect(workerTypo.stderr.trim()).toMatch(/; did you mean --channel work\?$/);
  });
});

// The pieces the commands are built from, in process: cases too slow or too fiddly to reach from outside.
describe('tool internals', () => {
  it('splits messages that cross chunk boundaries, dropping empty ones', () => {
    const input = Buffer.from('alpha\n\nbeta\ngamma-is-longer\n\n\ndelta');
    // Every way of cutting the input in two, and one byte at a time.
    const cuts = [...Array.from({ length: input.length + 1 }, (_, at) => [input.subarray(0, at), input.subarray(at)]), [...input].map((b) => Buffer.from([b]))];
    for (const chunks of cuts) {
      const splitter = new LineSplitter(0x0a);
      const out: Buffer[] = [];
      for (const chunk of chunks) splitter.push(chunk, out);
      splitter.end(out);
      expect(out.map(String)).toEqual(['alpha', 'beta', 'gamma-is-longer', 'delta']);
    }
  });

  it('repeats the header every 25 rows and counts msgs since the previous poll', () => {
    const table = new StatsTable();
    const totals = (messages: number): ChannelTotals => ({ depth: 7, backendDepth: 2, inFlight: 1, deferred: 0, requeued: 3, timedOut: 0, messages, clients: 2 });
    const lines = Array.from({ length: 26 }, (_, poll) => table.render(totals(100 + poll * 10)))
      .join('')
      .split('\n')
      .slice(0, -1);
    expect(TABLE_COLUMNS).toBe(HEADER_COLUMNS);
    expect(lines.filter((line) => line === HEADER_RULE)).toHaveLength(2);
    expect(lines[0]).toBe(HEADER_RULE);
    expect(lines[27]).toBe(HEADER_RULE);
    expect(rowNumbers(lines[2]!)).toEqual([7, 5, 2, 1, 0, 3, 0, 100, 2]);
    expect(rowNumbers(lines[3]!)).toEqual([7, 5, 2, 1, 0, 3, 0, 10, 2]);
  });

  it('reads string flags as typed, whatever they look like', () => {
    const argv = ['node', 'bin', 'pub', '--topic', '007', '--delimiter= ', '--topic=1e3', '--rate', '-1', '--', '--topic', 'body'];
    expect(rawFlagValues(argv, 'topic')).toEqual(['007', '1e3']);
    expect(rawFlagValues(argv, 'delimiter')).toEqual([' ']);
    // mri reads `-1` as a flag, so --rate has no value here.
    expect(rawFlagValues(argv, 'rate')).toEqual([]);
  });
});
