/**
 * The two consumers `npm run bench runner` compares, each draining `count` messages already
 * waiting on `topic`/`c` at `address`: the bare Consumer with a no-op handler, and a worker with one
 * no-op task bound as the runner binds it (consumer, executor, pipeline, dedup queue). Shared by the
 * in-process rows (runner.ts) and the child process that runner-instructions.ts counts.
 */
import pino from 'pino';
import { Consumer } from '../../client/consumer.ts';
import { bindWorker } from '../../runner/ops/bind.ts';
import { InProcessExecutor } from '../../runner/ops/executor.ts';
import { RunSettingsSchema } from '../../runner/config/settings.ts';
import { defineWorker } from '../../runner/worker/worker.ts';
import { workerRuntimeOf } from '../../runner/worker/worker-runtime.ts';

export const MAX_IN_FLIGHT = 1000;

/** What a drain took: wall time and this process's CPU time (user + system), both in ms. */
export interface Drained {
  elapsedMs: number;
  cpuMs: number;
}

export type DrainKind = 'bare' | 'runner';

/** Drains `count` messages with the consumer `kind` names; resolves once the last was handled. */
export async function drain(kind: DrainKind, address: string, topic: string, count: number): Promise<Drained> {
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const noop = (): void => {
    if (++handled === count) done();
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  let close: () => Promise<void>;
  if (kind === 'bare') {
    const consumer = new Consumer({ topic, channel: 'c', nsqdTcpAddresses: [address], maxInFlight: MAX_IN_FLIGHT }, noop);
    consumer.start();
    close = () => consumer.close();
  } else {
    const runtime = workerRuntimeOf({ default: defineWorker({ tasks: { noop } }) }, 'bench worker');
    // BENCH_DEDUP_QUEUE_SIZE=0 turns the dedup queue off, to see its share.
    const dedup = process.env.BENCH_DEDUP_QUEUE_SIZE;
    const settings = RunSettingsSchema.parse({ topic, channel: 'c', maxInFlight: MAX_IN_FLIGHT, logLevel: 'silent', ...(dedup === undefined ? {} : { dedupQueueSize: Number(dedup) }) });
    const bound = await bindWorker({
      settings,
      taskNames: runtime.taskNames,
      createExecutor: (deps) => new InProcessExecutor({ ...deps, runtime, options: {} }),
      endpoints: { nsqdTcpAddresses: [address], lookupdHttpAddresses: [], publishAddresses: [address] },
      logger: pino({ level: 'silent' }),
    });
    close = () => bound.close();
  }
  await finished;
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await close();
  return { elapsedMs, cpuMs: (used.user + used.system) / 1000 };
}
