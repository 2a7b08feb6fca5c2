/**
 * The end-to-end latency probe's client process: a publisher and a consumer in this one process (one
 * clock), either this package's `Producer` and `Consumer` or nsqjs's `Writer` and `Reader`, each with
 * its default settings but for `--max-in-flight` (both clients default to 1: one message at a time,
 * so a round trip per message, which on this machine caps a consumer near 10,000 msg/s); or, with
 * `--client echo`, no NSQ at all: the bodies' round trip through lib/echo-server.ts, the machine's
 * floor. It first publishes the first rate for `--process-warmup-seconds` (2), not counted; then, for
 * each rate, a steady stream for `--seconds` (after `--warmup-seconds` not counted), one PUB per
 * message, spread evenly: every tick of about 1 ms sends what is due by then, so at 50,000 msg/s a
 * tick carries about 50. Each body carries its send time
 * (`performance.now()`, an 8-byte double); the consumer takes its receive time minus that.
 *
 * Prints one JSON line per rate: `{ rate, sent, received, p50Ms, p99Ms, maxMs }`. `received` short
 * of `sent` means the consumer fell behind and never caught up within the grace period.
 *
 * Run (spawned by bench/latency.ts): tsx bench/lib/latency-client.ts --client ours|nsqjs|echo
 *   --nsqd-tcp-address 127.0.0.1:4150 --topic T --rates 10000,50000 --seconds 3 --warmup-seconds 1
 *   [--max-in-flight N] [--process-warmup-seconds 2]
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import nsq from 'nsqjs';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';

const BODY_SIZE = 200;
const TICK_MS = 1;
const GRACE_MS = 5000;

interface Client {
  publish(body: Buffer): void;
  close(): Promise<void>;
}

type OnBody = (body: Buffer) => void;

/** One rate's figures, as the probe prints them (a JSON line each). */
export interface RateResult {
  rate: number;
  sent: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function ours(address: string, topic: string, maxInFlight: number | undefined, onBody: OnBody): Client {
  const consumer = new Consumer({ topic, channel: 'latency', nsqdTcpAddresses: [address], maxInFlight }, (message) => onBody(message.body));
  consumer.start();
  const producer = new Producer({ nsqdTcpAddresses: [address] });
  return {
    publish(body) {
      producer.publish(topic, body).catch((error: unknown) => fail(error));
    },
    async close() {
      await producer.close();
      await consumer.close();
    },
  };
}

function nsqjsClient(address: string, topic: string, maxInFlight: number | undefined, onBody: OnBody): Client {
  const colon = address.lastIndexOf(':');
  const reader = new nsq.Reader(topic, 'latency', { nsqdTCPAddresses: [address], ...(maxInFlight === undefined ? {} : { maxInFlight }) });
  reader.on('message', (message) => {
    onBody(message.body);
    message.finish();
  });
  reader.on('error', fail);
  reader.connect();
  const writer = new nsq.Writer(address.slice(0, colon), Number(address.slice(colon + 1)));
  writer.on('error', fail);
  writer.connect();
  const connected = new Promise<void>((resolve) => writer.once('ready', () => resolve()));
  let ready = false;
  void connected.then(() => (ready = true));
  return {
    publish(body) {
      if (!ready) throw new Error('the nsqjs writer is not connected yet');
      writer.publish(topic, body, (error) => {
        if (error) fail(error);
      });
    },
    async close() {
      writer.close();
      reader.close();
    },
  };
}

/**
 * No NSQ at all: bodies go to lib/echo-server.ts and come back, each tick's written in one system
 * call (as our Producer coalesces a tick's publishes), read back as 200-byte records.
 */
function echo(address: string, onBody: OnBody): Client {
  const colon = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), noDelay: true });
  socket.on('error', fail);
  let batch: Buffer[] = [];
  const flush = (): void => {
    socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
    batch = [];
  };
  let partial: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    let data: Buffer = partial.length === 0 ? chunk : Buffer.concat([partial, chunk]);
    while (data.length >= BODY_SIZE) {
      onBody(data.subarray(0, BODY_SIZE));
      data = data.subarray(BODY_SIZE);
    }
    partial = data;
  });
  return {
    publish(body) {
      if (batch.length === 0) process.nextTick(flush);
      batch.push(body);
    },
    async close() {
      socket.destroy();
    },
  };
}

function fail(error: unknown): never {
  console.error(`latency client: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      client: { type: 'string', default: 'ours' },
      'nsqd-tcp-address': { type: 'string' },
      topic: { type: 'string', default: 'latency' },
      rates: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '3' },
      'warmup-seconds': { type: 'string', default: '1' },
      'process-warmup-seconds': { type: 'string', default: '2' },
      'max-in-flight': { type: 'string' },
    },
  });
  const address = values['nsqd-tcp-address'];
  if (address === undefined) fail('--nsqd-tcp-address is required');
  const measureMs = Number(values.seconds) * 1000;
  const warmupMs = Number(values['warmup-seconds']) * 1000;
  const processWarmupMs = Number(values['process-warmup-seconds']) * 1000;

  // Received latencies of the current phase, and how many of its messages arrived at all.
  let samples = new Float64Array(0);
  let sampleCount = 0;
  let received = 0;
  let countFrom = Number.POSITIVE_INFINITY;
  /** When the current phase began: a late message of the one before is not this phase's. */
  let phaseStart = Number.POSITIVE_INFINITY;
  let probesReceived = 0;
  const onBody = (body: Buffer): void => {
    const sentAt = body.readDoubleLE(0);
    const latency = performance.now() - sentAt;
    if (sentAt < 0) {
      probesReceived++;
      return;
    }
    if (sentAt < phaseStart) return;
    received++;
    if (sentAt < countFrom) return;
    // A publisher that fell behind catches up, so a phase may send more than rate × seconds.
    if (sampleCount === samples.length) {
      const grown = new Float64Array(Math.max(1024, samples.length * 2));
      grown.set(samples);
      samples = grown;
    }
    samples[sampleCount++] = latency;
  };
  const maxInFlight = values['max-in-flight'] === undefined ? undefined : Number(values['max-in-flight']);
  const client =
    values.client === 'nsqjs' ? nsqjsClient(address, values.topic, maxInFlight, onBody) : values.client === 'echo' ? echo(address, onBody) : ours(address, values.topic, maxInFlight, onBody);

  // Until the consumer's channel exists, a message would wait at the topic: probe until one arrives.
  const readyDeadline = Date.now() + 15_000;
  const probe = Buffer.alloc(BODY_SIZE);
  probe.writeDoubleLE(-1, 0);
  while (probesReceived === 0) {
    try {
      client.publish(probe);
    } catch {
      // the nsqjs writer is still connecting
    }
    await sleep(50);
    if (Date.now() > readyDeadline) fail('the consumer never received a message');
  }

  /** Publishes `rate` for `warmupMs` not counted, then `measureMs` counted; the counted messages' latencies. */
  const phase = async (rate: number, warmupMs: number, measureMs: number): Promise<RateResult> => {
    samples = new Float64Array(Math.ceil((rate * measureMs) / 1000) + 1000);
    sampleCount = 0;
    received = 0;
    const started = performance.now();
    phaseStart = started;
    countFrom = started + warmupMs;
    const endAt = started + warmupMs + measureMs;
    let sent = 0;
    let counted = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.floor(((Math.min(now, endAt) - started) * rate) / 1000);
        while (sent < due) {
          const body = Buffer.allocUnsafe(BODY_SIZE);
          const sentAt = performance.now();
          body.writeDoubleLE(sentAt, 0);
          client.publish(body);
          sent++;
          if (sentAt >= countFrom) counted++;
        }
        if (now >= endAt) resolve();
        else setTimeout(tick, TICK_MS);
      };
      tick();
    });
    const graceUntil = performance.now() + GRACE_MS;
    while (received < sent && performance.now() < graceUntil) await sleep(10);
    const sorted = samples.subarray(0, sampleCount).sort();
    return { rate, sent: counted, received: sampleCount, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: percentile(sorted, 1) };
  };

  const rates = values.rates.split(',').map(Number);
  // A process's first seconds of traffic run code V8 has not optimised yet (and grow its heap): a
  // first phase measured that, not the steady state. A phase at the first rate, not counted, warms
  // both ends first, as the same process's later phases are.
  await phase(rates[0]!, processWarmupMs, 0);
  for (const rate of rates) process.stdout.write(`${JSON.stringify(await phase(rate, warmupMs, measureMs))}\n`);
  await client.close();
  process.exit(0);
}

await main();
