/**
 * A no-op worker draining a backlog, as users run one: the compiled CLI (`bin/nsqworker.js`) in a
 * throwaway project with `workers/<topic>/<topic>_ch_worker.ts` holding one task that does nothing,
 * `--max-in-flight 1000`, against `--nsqd-tcp-address` of real nsqd (NSQD_BIN) or, without it, of
 * the bundled broker in its own process. Beside it on the same broker, in the same run: nsqjs
 * (a Reader with maxInFlight 1000 that finishes every message, in a process of its own) and nsq's
 * Go bench_reader (RDY 2500 on one connection per core; the stand-in without
 * NSQ_BENCH_READER_BIN), the ceiling the broker allows a consumer.
 *
 * Each drains BACKLOG messages of 200 bytes, published beforehand as MPUB batches of 200, all three
 * timed the same way from the outside (broker-stats.ts, timeDrain): from the first message out of
 * the channel to the last, counting the messages finished by then, read from /stats. Start-up and
 * shutdown are not timed. Rounds
 * alternate the order; each consumer's best round counts, as on a shared machine a slower round
 * says more about the neighbours than about the consumer.
 *
 * Run: npm run bench drain
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CliProjects } from '../test/integration/helpers/cli-project.ts';
import { createChannel, emptyChannel, settled, timeDrain } from './lib/broker-stats.ts';
import { startBrokerProcess, type BrokerProcess } from './lib/broker-process.ts';
import { trackProcess } from './lib/children.ts';
import { startReader, toolLabel } from './lib/nsq-bench-tools.ts';
import { publishLoad } from './lib/raw-load.ts';
import type { Row } from './broker.ts';
import type { GoalRow } from './goals.ts';

const BACKLOG = Number(process.env.BENCH_DRAIN_BACKLOG ?? 200_000);
const ROUNDS = Number(process.env.BENCH_DRAIN_ROUNDS ?? 2);
const MAX_IN_FLIGHT = 1000;
const CHANNEL = 'ch';
const NSQJS_DRAIN = fileURLToPath(new URL('./lib/nsqjs-drain.ts', import.meta.url));
const body = Buffer.alloc(200, 0x64);

type Drainer = 'worker' | 'nsqjs' | 'reader';

/** Starts one consumer process on `topic`; `stop` ends it (the messages are all finished by then). */
type Start = (topic: string) => { stop(): Promise<void> };

function nsqjsStarter(broker: BrokerProcess): Start {
  return (topic) => {
    const args = ['--nsqd-tcp-address', `127.0.0.1:${broker.tcpPort}`, '--topic', topic, '--channel', CHANNEL, '--max-in-flight', String(MAX_IN_FLIGHT)];
    const child = spawn(process.execPath, [...process.execArgv, NSQJS_DRAIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    trackProcess(child);
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return {
      async stop() {
        child.kill('SIGKILL');
        await closed;
      },
    };
  };
}

async function workerStarter(projects: CliProjects, broker: BrokerProcess, topic: string): Promise<Start> {
  const project = await projects.create();
  await project.writeWorker(topic, CHANNEL, "import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { noop() {} } });\n");
  return () => {
    const run = project.spawn([
      '--topic',
      topic,
      '--channel',
      CHANNEL,
      '--nsqd-tcp-address',
      `127.0.0.1:${broker.tcpPort}`,
      '--nsqd-http-address',
      `127.0.0.1:${broker.httpPort}`,
      '--max-in-flight',
      String(MAX_IN_FLIGHT),
      '--log-level',
      'warn',
    ]);
    trackProcess(run.child);
    return {
      async stop() {
        run.kill('SIGTERM');
        const exit = await run.waitForExit(30_000);
        if (exit.code !== 0) throw new Error(`the worker exited ${JSON.stringify(exit)}\n${run.describe()}`);
      },
    };
  };
}

/** Fills the topic's channel with BACKLOG messages, drains it with one consumer; msg/s. */
async function drainOnce(broker: BrokerProcess, topic: string, start: Start): Promise<number> {
  await publishLoad(broker.tcpPort, topic, body, BACKLOG, 200, 16);
  await settled(broker.httpPort, topic, CHANNEL);
  let consumer: { stop(): Promise<void> } | undefined;
  try {
    const { elapsedMs, finished } = await timeDrain(broker.httpPort, topic, CHANNEL, BACKLOG, () => (consumer = start(topic)));
    return (finished / elapsedMs) * 1000;
  } finally {
    await consumer?.stop();
    await emptyChannel(broker.httpPort, topic, CHANNEL);
  }
}

export interface DrainResult {
  rows: Row[];
  goals: GoalRow[];
}

export async function drainBenchmarks(): Promise<DrainResult> {
  const kind = process.env.NSQD_BIN ? 'nsqd' : 'bundled';
  const broker = await startBrokerProcess(kind);
  const projects = new CliProjects();
  try {
    const drainers: Drainer[] = ['worker', 'nsqjs', 'reader'];
    const topicOf = (drainer: Drainer): string => `drain_${drainer}`;
    for (const drainer of drainers) await createChannel(broker.httpPort, topicOf(drainer), CHANNEL);
    const starters: Record<Drainer, Start> = {
      worker: await workerStarter(projects, broker, topicOf('worker')),
      nsqjs: nsqjsStarter(broker),
      reader: (topic) => startReader({ tcpPort: broker.tcpPort, topic, channel: CHANNEL }),
    };
    const rates: Record<Drainer, number[]> = { worker: [], nsqjs: [], reader: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? drainers : [...drainers].reverse();
      for (const drainer of order) rates[drainer].push(await drainOnce(broker, topicOf(drainer), starters[drainer]));
    }
    const best = (drainer: Drainer): number => Math.max(...rates[drainer]);
    const readerLabel = toolLabel('reader');
    const what = `drain ${BACKLOG.toLocaleString('en')} × 200 B from ${broker.name}`;
    const slowest = (drainer: Drainer): number => Math.min(...rates[drainer]);
    const goal = (name: string, anchor: Drainer, ratio: number): GoalRow => ({
      metric: `no-op worker (CLI, --max-in-flight ${MAX_IN_FLIGHT}) ${what}, against ${name}`,
      unit: 'msg/s',
      ours: best('worker'),
      anchor: { name, value: best(anchor) },
      goal: { kind: 'ratio-at-least', value: ratio },
    });
    return {
      rows: [
        {
          metric: `${what}, finished per second from first message out to last, best of ${ROUNDS}`,
          unit: 'msg/s',
          higherIsBetter: true,
          values: { 'no-op worker (CLI)': best('worker'), 'nsqjs Reader': best('nsqjs'), [readerLabel]: best('reader') },
        },
        {
          metric: '  the slowest round, for the noise',
          unit: 'msg/s',
          higherIsBetter: true,
          values: { 'no-op worker (CLI)': slowest('worker'), 'nsqjs Reader': slowest('nsqjs'), [readerLabel]: slowest('reader') },
        },
      ],
      goals: [goal('nsqjs', 'nsqjs', 3), goal(readerLabel, 'reader', 0.8)],
    };
  } finally {
    await projects.cleanup();
    await broker.discard();
  }
}
