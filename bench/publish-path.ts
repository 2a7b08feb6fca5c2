/**
 * `npm run bench publish-path`: the broker's CPU per message without sockets, in-process
 * (lib/publish-path-child.ts): MPUBs of 200 × 200 B into a channel's memory queue, then past it to
 * disk; then a subscriber as nsq's bench_reader (RDY 2500, FIN each) takes them from memory, then
 * from disk. The socket benchmarks (`tools`) move with the load generator, the kernel and the
 * neighbours; this isolates the broker's own paths, for comparing one change with the commit
 * before it. Rounds (BENCH_PUBLISH_PATH_ROUNDS, 5) each in a fresh process; the median and the
 * least are shown. Ours alone: nsqd cannot be measured this way.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Row } from './broker.ts';

const ROUNDS = Number(process.env.BENCH_PUBLISH_PATH_ROUNDS ?? 5);
/** The memory queue's size, and so the messages of each phase (read by the child too). */
const MEMORY = Number(process.env.BENCH_PUBLISH_PATH_MEMORY ?? 1_000_000);
const CHILD = fileURLToPath(new URL('./lib/publish-path-child.ts', import.meta.url));

interface Round {
  memoryNsPerMessage: number;
  diskNsPerMessage: number;
  consumeMemoryNsPerMessage: number;
  consumeDiskNsPerMessage: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

export async function publishPathBenchmarks(): Promise<Row[]> {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // As deploy/ runs the broker: a 4 MB young generation.
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=4', '--import', 'tsx', CHILD], { timeout: 120_000 });
    rounds.push(JSON.parse(stdout) as Round);
  }
  const row = (metric: string, values: number[]): Row[] => [
    { metric: `${metric}, median of ${ROUNDS}`, unit: 'ns', higherIsBetter: false, values: { nsqworker: median(values) } },
    { metric: `${metric}, least`, unit: 'ns', higherIsBetter: false, values: { nsqworker: Math.min(...values) } },
  ];
  return [
    ...row(`CPU per message, MPUB into the memory queue (${MEMORY.toLocaleString('en')})`, rounds.map((round) => round.memoryNsPerMessage)),
    ...row(`CPU per message, MPUB past it to disk (${(2 * MEMORY).toLocaleString('en')})`, rounds.map((round) => round.diskNsPerMessage)),
    ...row(`CPU per message, delivered from the memory queue and FIN'd, RDY 2500 (${MEMORY.toLocaleString('en')})`, rounds.map((round) => round.consumeMemoryNsPerMessage)),
    ...row(`CPU per message, delivered from disk and FIN'd (${MEMORY.toLocaleString('en')})`, rounds.map((round) => round.consumeDiskNsPerMessage)),
  ];
}
