/**
 * What the runner adds per message, counted in instructions instead of timed: each consumer of
 * runner.ts drains a backlog in a child process under valgrind's callgrind, its counters zeroed once
 * the child has loaded (`callgrind_control -z`), twice, with {@link SMALL} and {@link LARGE}
 * messages; the difference over the difference in messages leaves out what is counted once (the
 * connection, the close, the exit). Instruction counts do not move with the machine's other load, as
 * rates and CPU times do on these shared machines; they still move with the JIT's and the garbage
 * collector's timing, so compare several runs. About three minutes (callgrind runs the code some
 * fifty times slower); only when named, and only where valgrind is installed.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startBrokerProcess, type BrokerProcess } from './lib/broker-process.ts';
import type { DrainKind } from './lib/runner-drains.ts';
import { fillTopic } from './runner.ts';
import type { Row } from './broker.ts';

const SMALL = 5_000;
const LARGE = Number(process.env.BENCH_INSTRUCTIONS_MESSAGES ?? 205_000);
const CHILD = fileURLToPath(new URL('./lib/drain-child.ts', import.meta.url));
const run = promisify(execFile);

/** Instructions a child process took from its `ready` to its exit, draining `count` messages with `kind`. */
async function countInstructions(broker: BrokerProcess, kind: DrainKind, count: number): Promise<number> {
  const topic = `instructions_${kind}_${count}`;
  await fillTopic(broker, topic, count);
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', 'node', '--import', 'tsx', CHILD, kind, `127.0.0.1:${broker.tcpPort}`, topic, String(count)];
  const child = spawn('valgrind', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve, reject) =>
    child
      .once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new Error('valgrind is not installed (Debian: apt-get install valgrind)') : error))
      .once('exit', resolve),
  );
  // Loaded: zero the counters, then let it drain.
  const ready = once(child.stdout, 'data').then(() => 'ready' as const);
  if ((await Promise.race([ready, exited])) === 'ready') {
    await run('callgrind_control', ['-z', String(child.pid)]);
    child.stdin.end('go\n');
  }
  const code = await exited;
  const collected = /Collected : (\d+)/.exec(stderr)?.[1];
  if (code !== 0 || collected === undefined) throw new Error(`valgrind ${kind} ${count}: exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return Number(collected);
}

export async function runnerInstructionBenchmarks(): Promise<Row[]> {
  const broker = await startBrokerProcess('bundled');
  try {
    const perMessage: Record<string, number> = {};
    for (const kind of ['runner', 'bare'] as const) {
      const small = await countInstructions(broker, kind, SMALL);
      const large = await countInstructions(broker, kind, LARGE);
      perMessage[kind === 'bare' ? 'bare Consumer' : kind] = (large - small) / (LARGE - SMALL);
    }
    return [{ metric: 'instructions per message drained (callgrind), one no-op task, maxInFlight 1000', unit: 'instructions', higherIsBetter: false, values: perMessage }];
  } finally {
    await broker.stop();
  }
}
