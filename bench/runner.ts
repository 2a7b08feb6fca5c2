/**
 * The runner's cost per message: a worker with one no-op task, bound as the runner binds it
 * (consumer, executor, pipeline, dedup queue), against the bare Consumer with a no-op handler, both
 * draining the same backlog from a bundled broker in its own process, in the same run.
 */
import pino from 'pino';
import { Consumer } from '../client/consumer.ts';
import { bindWorker } from '../runner/ops/bind.ts';
import { InProcessExecutor } from '../runner/ops/executor.ts';
import { RunSettingsSchema } from '../runner/config/settings.ts';
import { defineWorker } from '../runner/worker/worker.ts';
import { workerRuntimeOf } from '../runner/worker/worker-runtime.ts';
import { startBrokerProcess, type BrokerProcess } from './lib/broker-process.ts';
import { publishLoad } from './lib/raw-load.ts';
import type { Row } from './broker.ts';

const BACKLOG = Number(process.env.BENCH_RUNNER_BACKLOG ?? 200_000);
const MAX_IN_FLIGHT = 1000;
const body = Buffer.alloc(200, 0x62);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function fill(broker: BrokerProcess, topic: string, channel: string): Promise<void> {
  for (const path of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=${channel}`]) {
    const response = await fetch(`http://127.0.0.1:${broker.httpPort}${path}`, { method: 'POST' });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
  }
  await publishLoad(broker.tcpPort, topic, body, BACKLOG, 200, 16);
}

async function bareConsumer(broker: BrokerProcess, round: number): Promise<number> {
  const topic = `bench_bare_${round}`;
  await fill(broker, topic, 'c');
  let count = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const consumer = new Consumer(
    { topic, channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${broker.tcpPort}`], maxInFlight: MAX_IN_FLIGHT },
    () => {
      if (++count === BACKLOG) done();
    },
  );
  const started = performance.now();
  consumer.start();
  await finished;
  const elapsed = performance.now() - started;
  await consumer.close();
  return (BACKLOG / elapsed) * 1000;
}

async function throughRunner(broker: BrokerProcess, round: number): Promise<number> {
  const topic = `bench_runner_${round}`;
  await fill(broker, topic, 'c');
  let count = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const runtime = workerRuntimeOf(
    {
      default: defineWorker({
        tasks: {
          noop() {
            if (++count === BACKLOG) done();
          },
        },
      }),
    },
    'bench worker',
  );
  const settings = RunSettingsSchema.parse({ topic, channel: 'c', maxInFlight: MAX_IN_FLIGHT, logLevel: 'silent' });
  const address = `127.0.0.1:${broker.tcpPort}`;
  const started = performance.now();
  const bound = await bindWorker({
    settings,
    taskNames: runtime.taskNames,
    createExecutor: (deps) => new InProcessExecutor({ ...deps, runtime, options: {} }),
    endpoints: { nsqdTcpAddresses: [address], lookupdHttpAddresses: [], publishAddresses: [address] },
    logger: pino({ level: 'silent' }),
  });
  await finished;
  const elapsed = performance.now() - started;
  await bound.close();
  return (BACKLOG / elapsed) * 1000;
}

export async function runnerBenchmarks(): Promise<Row[]> {
  const broker = await startBrokerProcess('bundled');
  try {
    // Alternate, after a warm-up of each, and keep the medians: these machines are noisy and the JIT
    // favours whichever runs second.
    await bareConsumer(broker, -1);
    await throughRunner(broker, -1);
    const bareRates: number[] = [];
    const runnerRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRates.push(await bareConsumer(broker, round));
      runnerRates.push(await throughRunner(broker, round));
    }
    const bare = median(bareRates);
    const runner = median(runnerRates);
    return [
      {
        metric: `drain ${BACKLOG.toLocaleString('en')} backlog, one no-op task, maxInFlight ${MAX_IN_FLIGHT}`,
        unit: 'msg/s',
        higherIsBetter: true,
        values: { runner, 'bare Consumer': bare },
      },
    ];
  } finally {
    await broker.stop();
  }
}
