/**
 * The runner's cost per message: a worker with one no-op task, bound as the runner binds it
 * (consumer, executor, pipeline, dedup queue), against the bare Consumer with a no-op handler, both
 * draining the same backlog from a bundled broker in its own process, in the same run. Beside the
 * rates, the CPU each took per message: both drains are often held to the broker's pace, which hides
 * what the runner adds (runner-instructions.ts counts it without the machine's noise).
 */
import { drain, MAX_IN_FLIGHT, type DrainKind } from './lib/runner-drains.ts';
import { startBrokerProcess, type BrokerProcess } from './lib/broker-process.ts';
import { publishLoad } from './lib/raw-load.ts';
import type { Row } from './broker.ts';

// Half a million, five rounds: a drain of 200,000 lasts a quarter of a second where the broker
// delivers 800,000 msg/s, and three of them gave medians from 0.84x to 1.03x on one machine within
// an hour; 500,000 five times, 1.00x to 1.01x (about 11 s).
const BACKLOG = Number(process.env.BENCH_RUNNER_BACKLOG ?? 500_000);
const body = Buffer.alloc(200, 0x62);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Creates `topic` with channel `c` and publishes `count` 200-byte messages to it. */
export async function fillTopic(broker: BrokerProcess, topic: string, count: number): Promise<void> {
  for (const path of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=c`]) {
    // A connection each: a kept-alive one may have been closed by the broker while a long step ran.
    const response = await fetch(`http://127.0.0.1:${broker.httpPort}${path}`, { method: 'POST', headers: { connection: 'close' } });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
  }
  await publishLoad(broker.tcpPort, topic, body, count, 200, 16);
}

/** One round of `kind`: its rate (msg/s) and CPU per message (µs). */
async function round(broker: BrokerProcess, kind: DrainKind, name: string): Promise<{ rate: number; cpuUs: number }> {
  const topic = `bench_${kind}_${name}`;
  await fillTopic(broker, topic, BACKLOG);
  const { elapsedMs, cpuMs } = await drain(kind, `127.0.0.1:${broker.tcpPort}`, topic, BACKLOG);
  return { rate: (BACKLOG / elapsedMs) * 1000, cpuUs: (cpuMs * 1000) / BACKLOG };
}

export async function runnerBenchmarks(): Promise<Row[]> {
  const broker = await startBrokerProcess('bundled');
  try {
    // Alternate, after a warm-up of each, and keep the medians: these machines are noisy and the JIT
    // favours whichever runs second.
    await round(broker, 'bare', 'warm');
    await round(broker, 'runner', 'warm');
    const bare: Array<{ rate: number; cpuUs: number }> = [];
    const runner: Array<{ rate: number; cpuUs: number }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      bare.push(await round(broker, 'bare', String(i)));
      runner.push(await round(broker, 'runner', String(i)));
    }
    const what = `drain ${BACKLOG.toLocaleString('en')} backlog, one no-op task, maxInFlight ${MAX_IN_FLIGHT}`;
    return [
      {
        metric: what,
        unit: 'msg/s',
        higherIsBetter: true,
        values: { runner: median(runner.map((r) => r.rate)), 'bare Consumer': median(bare.map((r) => r.rate)) },
      },
      {
        metric: `  the same, CPU of the consuming process per message`,
        unit: 'µs',
        higherIsBetter: false,
        values: { runner: median(runner.map((r) => r.cpuUs)), 'bare Consumer': median(bare.map((r) => r.cpuUs)) },
      },
    ];
  } finally {
    await broker.stop();
  }
}
