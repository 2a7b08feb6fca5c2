/**
 * Client throughput against the bundled nsqd (run in a child process so broker and client do not
 * share a core), this client side by side with nsqjs in the same run:
 * - consume: a backlog of 200,000 messages of 200 bytes, maxInFlight 1000, a no-op handler;
 * - publish: 200,000 single PUBs pipelined (1000 outstanding), and MPUB batches of 100;
 * - then consume and single publishes again over TLS, snappy and deflate (level 6) on the same broker,
 *   50,000 messages each (--secure-messages N), both clients with the same options.
 *
 * Run: npx tsx bench/client.ts [--messages N] [--secure-messages N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import nsq from 'nsqjs';
import { Consumer } from '../client/consumer.ts';
import { Producer } from '../client/producer.ts';
import type { ConnectionOptions } from '../client/options.ts';
import { makeTestCertificates } from '../test/support/certificates.ts';

/** One way of connecting, as our client and nsqjs each spell it. */
interface Mode {
  name: string;
  ours: Partial<Pick<ConnectionOptions, 'tls' | 'snappy' | 'deflate' | 'deflateLevel'>>;
  nsqjs: Record<string, unknown>;
}

const PLAIN: Mode = { name: 'plain', ours: {}, nsqjs: {} };

const BODY_SIZE = 200;
const MAX_IN_FLIGHT = 1000;
const PIPELINE_WINDOW = 1000;
const BATCH = 100;

interface Broker {
  tcpAddress: string;
  httpAddress: string;
  stop(): Promise<void>;
}

async function brokerChild(): Promise<void> {
  const { startBroker } = await import('../broker/nsqd/server.ts');
  const arg = (name: string): string => process.argv[process.argv.indexOf(name) + 1]!;
  const broker = await startBroker({
    tcpAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    dataPath: arg('--data-path'),
    memQueueSize: 1_000_000,
    tlsCert: arg('--tls-cert'),
    tlsKey: arg('--tls-key'),
  });
  process.stdout.write(`${JSON.stringify({ tcpAddress: broker.tcpAddress, httpAddress: broker.httpAddress })}\n`);
  process.on('SIGTERM', () => {
    void broker.close().then(() => process.exit(0));
  });
}

async function startBrokerProcess(tls: { certFile: string; keyFile: string }): Promise<Broker> {
  const dataPath = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-bench-client-'));
  const args = ['--broker-child', '--data-path', dataPath, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile];
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, import.meta.filename, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  const { tcpAddress, httpAddress } = JSON.parse(line) as { tcpAddress: string; httpAddress: string };
  progress(`broker at ${tcpAddress}`);
  return {
    tcpAddress,
    httpAddress,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dataPath, { recursive: true, force: true });
    },
  };
}

interface Measured {
  rate: number;
  /** Client-process CPU (user + system) per message, µs: what the client costs, whoever is the bottleneck. */
  cpuUsPerMsg: number;
}

async function measure(count: number, run: () => Promise<number>): Promise<Measured> {
  const before = process.cpuUsage();
  const rate = await run();
  const used = process.cpuUsage(before);
  // The rate is timed inside run(); CPU includes its setup and teardown, a small overestimate.
  return { rate, cpuUsPerMsg: (used.user + used.system) / count };
}

function progress(text: string): void {
  if (process.env.BENCH_VERBOSE) process.stderr.write(`${new Date().toISOString()} ${text}\n`);
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

async function channelDepth(httpAddress: string, topic: string, channel: string): Promise<number> {
  const response = await fetch(`http://${httpAddress}/stats?format=json&topic=${topic}&channel=${channel}`);
  const stats = (await response.json()) as { topics: { topic_name: string; channels: { channel_name: string; depth: number }[] }[] };
  return stats.topics.find((t) => t.topic_name === topic)?.channels.find((c) => c.channel_name === channel)?.depth ?? 0;
}

/** Fills `topic:channel` with `count` messages (not timed). */
async function fillBacklog(broker: Broker, topic: string, channel: string, count: number): Promise<void> {
  progress(`filling ${topic} with ${count}`);
  await fetch(`http://${broker.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' });
  await fetch(`http://${broker.httpAddress}/channel/create?topic=${topic}&channel=${channel}`, { method: 'POST' });
  const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });
  const body = Buffer.alloc(BODY_SIZE, 'x');
  const batch = Array.from({ length: BATCH }, () => body);
  const pending: Promise<void>[] = [];
  for (let sent = 0; sent < count; sent += BATCH) {
    pending.push(producer.publishMany(topic, batch.slice(0, Math.min(BATCH, count - sent))));
    if (pending.length >= 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await producer.close();
  progress('published backlog');
  while ((await channelDepth(broker.httpAddress, topic, channel)) < count) await new Promise((r) => setTimeout(r, 20));
  progress('backlog in channel');
}

async function consumeOurs(broker: Broker, topic: string, count: number, mode: Mode = PLAIN): Promise<number> {
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const started = performance.now();
  const consumer = new Consumer({ topic, channel: 'bench', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: MAX_IN_FLIGHT, ...mode.ours }, () => {
    if (++received === count) done();
  });
  consumer.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await consumer.close();
  return count / seconds;
}

async function consumeNsqjs(broker: Broker, topic: string, count: number, mode: Mode = PLAIN): Promise<number> {
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const started = performance.now();
  const reader = new nsq.Reader(topic, 'bench', { nsqdTCPAddresses: [broker.tcpAddress], maxInFlight: MAX_IN_FLIGHT, ...mode.nsqjs });
  reader.on('message', (message) => {
    message.finish();
    if (++received === count) done();
  });
  reader.connect();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await new Promise<void>((resolve) => {
    reader.on('nsqd_closed', () => resolve());
    reader.close();
    setTimeout(resolve, 2000).unref();
  });
  return count / seconds;
}

async function publishOurs(broker: Broker, topic: string, count: number, batch: number, mode: Mode = PLAIN): Promise<number> {
  const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress], ...mode.ours });
  const body = Buffer.alloc(BODY_SIZE, 'y');
  const bodies = Array.from({ length: batch }, () => body);
  await producer.publish(topic, body);
  const started = performance.now();
  const window: Promise<void>[] = [];
  const windowSize = Math.max(1, Math.floor(PIPELINE_WINDOW / batch));
  for (let sent = 0; sent < count; sent += batch) {
    window.push(batch === 1 ? producer.publish(topic, body) : producer.publishMany(topic, bodies));
    if (window.length >= windowSize) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  const seconds = (performance.now() - started) / 1000;
  await producer.close();
  return count / seconds;
}

async function publishNsqjs(broker: Broker, topic: string, count: number, batch: number, mode: Mode = PLAIN): Promise<number> {
  const [host, port] = splitAddress(broker.tcpAddress);
  const writer = new nsq.Writer(host, port, mode.nsqjs);
  await new Promise<void>((resolve, reject) => {
    writer.once('ready', () => resolve());
    writer.once('error', reject);
    writer.connect();
  });
  const body = Buffer.alloc(BODY_SIZE, 'y');
  const bodies = Array.from({ length: batch }, () => body);
  const publish = (payload: Buffer | Buffer[]) =>
    new Promise<void>((resolve, reject) => writer.publish(topic, payload, (error) => (error ? reject(error) : resolve())));
  await publish(body);
  const started = performance.now();
  const window: Promise<void>[] = [];
  const windowSize = Math.max(1, Math.floor(PIPELINE_WINDOW / batch));
  for (let sent = 0; sent < count; sent += batch) {
    window.push(publish(batch === 1 ? body : bodies));
    if (window.length >= windowSize) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  const seconds = (performance.now() - started) / 1000;
  writer.close();
  return count / seconds;
}

async function main(): Promise<void> {
  const countArg = process.argv.indexOf('--messages');
  const count = countArg > 0 ? Number(process.argv[countArg + 1]) : 200_000;
  const secureArg = process.argv.indexOf('--secure-messages');
  const secureCount = secureArg > 0 ? Number(process.argv[secureArg + 1]) : 50_000;
  const certs = makeTestCertificates();
  const broker = await startBrokerProcess({ certFile: certs.serverCertFile, keyFile: certs.serverKeyFile });
  const modes: Mode[] = [
    { name: 'TLS', ours: { tls: { ca: certs.ca } }, nsqjs: { tls: true, tlsVerification: true, ca: certs.ca } },
    { name: 'snappy', ours: { snappy: true }, nsqjs: { snappy: true } },
    { name: 'deflate 6', ours: { deflate: true, deflateLevel: 6 }, nsqjs: { deflate: true, deflateLevel: 6 } },
  ];
  const secureRows: [string, Measured, Measured][] = [];
  const rows: [string, Measured, Measured][] = [];
  try {
    const run = Date.now().toString(36);
    await fillBacklog(broker, `consume-ours-${run}`, 'bench', count);
    const oursConsume = await measure(count, () => consumeOurs(broker, `consume-ours-${run}`, count));
    await fillBacklog(broker, `consume-nsqjs-${run}`, 'bench', count);
    const theirsConsume = await measure(count, () => consumeNsqjs(broker, `consume-nsqjs-${run}`, count));
    rows.push([`consume backlog ${count} × ${BODY_SIZE} B, maxInFlight ${MAX_IN_FLIGHT}`, oursConsume, theirsConsume]);

    const oursPub = await measure(count, () => publishOurs(broker, `pub-ours-${run}`, count, 1));
    const theirsPub = await measure(count, () => publishNsqjs(broker, `pub-nsqjs-${run}`, count, 1));
    rows.push([`publish singly, ${PIPELINE_WINDOW} pipelined`, oursPub, theirsPub]);

    const oursBatch = await measure(count, () => publishOurs(broker, `mpub-ours-${run}`, count, BATCH));
    const theirsBatch = await measure(count, () => publishNsqjs(broker, `mpub-nsqjs-${run}`, count, BATCH));
    rows.push([`publish in batches of ${BATCH} (MPUB)`, oursBatch, theirsBatch]);

    for (const mode of modes) {
      const tag = `${mode.name.replace(/\W+/g, '')}-${run}`;
      progress(`mode ${mode.name}`);
      await fillBacklog(broker, `consume-ours-${tag}`, 'bench', secureCount);
      const ours = await measure(secureCount, () => consumeOurs(broker, `consume-ours-${tag}`, secureCount, mode));
      await fillBacklog(broker, `consume-nsqjs-${tag}`, 'bench', secureCount);
      const theirs = await measure(secureCount, () => consumeNsqjs(broker, `consume-nsqjs-${tag}`, secureCount, mode));
      secureRows.push([`${mode.name}: consume backlog ${secureCount}`, ours, theirs]);
      const oursPub = await measure(secureCount, () => publishOurs(broker, `pub-ours-${tag}`, secureCount, 1, mode));
      const theirsPub = await measure(secureCount, () => publishNsqjs(broker, `pub-nsqjs-${tag}`, secureCount, 1, mode));
      secureRows.push([`${mode.name}: publish singly, ${PIPELINE_WINDOW} pipelined`, oursPub, theirsPub]);
    }
  } finally {
    await broker.stop();
    certs.remove();
  }
  rows.push(...secureRows);
  const format = (n: number) => Math.round(n).toLocaleString('en-US').padStart(11);
  const cpu = (n: number) => n.toFixed(2).padStart(9);
  console.log(`\nclient throughput against the bundled nsqd (msg/s; client CPU µs/msg), ${count} messages\n`);
  console.log(`${'scenario'.padEnd(52)} ${'nsqworker'.padStart(11)} ${'nsqjs'.padStart(11)}  ratio ${'cpu ours'.padStart(9)} ${'cpu nsqjs'.padStart(9)}`);
  for (const [name, ours, theirs] of rows) {
    console.log(
      `${name.padEnd(52)} ${format(ours.rate)} ${format(theirs.rate)} ${(ours.rate / theirs.rate).toFixed(2).padStart(5)}× ${cpu(ours.cpuUsPerMsg)} ${cpu(theirs.cpuUsPerMsg)}`,
    );
  }
}

if (process.argv.includes('--broker-child')) await brokerChild();
else await main();
