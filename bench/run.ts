/**
 * `npm run bench`: every benchmark but the long ones, a table each, then the goals of the
 * performance issue in one table (goals.ts), in under ten minutes. `npm run bench NAME` runs one
 * section (and its goal rows); broker, crash and scale run only when named. Figures from these noisy machines are only
 * meaningful side by side with a peer measured in the same run, so each row shows the peers and the
 * ratio where there is one.
 */
import { brokerBenchmarks, type Row } from './broker.ts';
import { brokerToolBenchmarks } from './broker-tools.ts';
import { failedGoal, printGoals, runnerGoal, targetGoals, type GoalRow } from './goals.ts';
import { latencyBenchmarks } from './latency.ts';
import { drainBenchmarks } from './worker-drain.ts';
import { consoleBenchmarks } from './console.ts';
import { footprintBenchmarks } from './footprint.ts';
import { reloadBenchmarks, reloadProbeBenchmark } from './reload.ts';
import { runnerBenchmarks } from './runner.ts';
import { runnerInstructionBenchmarks } from './runner-instructions.ts';
import { syncBenchmarks } from './sync.ts';
import { crashBenchmark } from './crash.ts';
import { scaleBenchmarks } from './scale.ts';
import { fuzzBenchmark, printFuzzTable } from './fuzz.ts';
import { heartbeatBenchmarks } from './heartbeats.ts';
import { publishPathBenchmarks } from './publish-path.ts';

function format(value: number, unit: string): string {
  if (unit === 'MB') return value.toFixed(1);
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : value.toFixed(0);
  if (unit === 'msg/s') return Math.round(value).toLocaleString('en');
  if (unit === 'messages' || unit === 'ns' || unit === 'instructions') return Math.round(value).toLocaleString('en');
  if (unit === 'µs') return value.toFixed(2);
  return value.toFixed(1);
}

function printTable(title: string, rows: Row[]): void {
  const peers = [...new Set(rows.flatMap((row) => Object.keys(row.values)))];
  const header = ['benchmark', ...peers.map((peer) => peer), ...(peers.length > 1 ? [`${peers[0]} / ${peers[1]}`] : []), 'unit'];
  const lines = rows.map((row) => {
    const cells = [row.metric, ...peers.map((peer) => (row.values[peer] === undefined ? '-' : format(row.values[peer]!, row.unit)))];
    if (peers.length > 1) {
      const a = row.values[peers[0]!];
      const b = row.values[peers[1]!];
      cells.push(a !== undefined && b !== undefined && b !== 0 ? `${(a / b).toFixed(2)}x` : '-');
    }
    cells.push(row.unit);
    return cells;
  });
  console.log(`\n${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const cells of lines) console.log(`| ${cells.join(' | ')} |`);
}

const only = process.argv[2];
const goals: GoalRow[] = [];
const failures: string[] = [];

/**
 * Runs a section when no name or its name was given. A section that throws is reported and the
 * others still run, so one broken benchmark does not hide the goals table.
 */
async function section(name: string, run: () => Promise<void>, whenNamedOnly = false): Promise<void> {
  if (only === undefined ? whenNamedOnly : only !== name) return;
  const started = performance.now();
  try {
    await run();
  } catch (error) {
    console.log(`\n${name}: FAILED\n\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    failures.push(name);
    goals.push(failedGoal(name, error));
  }
  // The whole run has ten minutes: say where they went.
  console.log(`\n(${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

await section('tools', async () => {
  const { rows, goals: toolGoals } = await brokerToolBenchmarks();
  printTable("Broker under nsq's bench_writer and bench_reader, as nsq's bench.sh runs them (beside nsqd when NSQD_BIN is set)", rows);
  goals.push(...toolGoals);
});
await section(
  'broker',
  async () => {
    // Only when named: its MPUB and backlog rows are the tools rows' twins over raw TCP (at the
    // brokers' default --mem-queue-size), its RSS row footprint's, its latency row the latency
    // probe's without a client; the whole run stays under ten minutes without it.
    printTable('Broker (load over raw TCP from a separate process)', await brokerBenchmarks());
  },
  true,
);
await section('drain', async () => {
  const { rows, goals: drainGoals } = await drainBenchmarks();
  printTable('A no-op worker draining a backlog, beside nsqjs and bench_reader on the same broker (timed from /stats)', rows);
  goals.push(...drainGoals);
});
await section('runner', async () => {
  const rows = await runnerBenchmarks();
  printTable('Runner (a no-op worker against the bare Consumer, same broker, same run)', rows);
  goals.push(...runnerGoal(rows));
});
await section(
  'runner-instructions',
  async () => {
    // Three minutes under callgrind, and valgrind is not everywhere: only when named.
    printTable('Runner, counted: instructions per message under callgrind (start-up subtracted)', await runnerInstructionBenchmarks());
  },
  true,
);
await section('latency', async () => {
  const { rows, goals: latencyGoals } = await latencyBenchmarks();
  printTable('End-to-end latency, steady rate (broker in its own process; publisher and consumer in one other)', rows);
  goals.push(...latencyGoals);
});
await section('footprint', async () => {
  printTable('Footprint (the compiled bin as users run it; beside nsqd/nsqlookupd when NSQD_BIN/NSQLOOKUPD_BIN are set)', await footprintBenchmarks());
});
await section('sync', async () => {
  printTable('Sync mode publish (--mem-queue-size=0 --sync-every=1: every OK is fsynced)', await syncBenchmarks());
});
await section(
  'crash',
  async () => {
    // Long (about 10 minutes for 1,000 rounds): only when named.
    const report = await crashBenchmark();
    console.log('\nCrash harness (sync mode, SIGKILL at random moments, restart on the same data path)\n');
    console.log('| seed | rounds | acknowledged | finished | duplicated | lost | unexpected | seconds |');
    console.log('|---|---|---|---|---|---|---|---|');
    const { seed, rounds, acknowledged, finished, duplicated, lost, unexpected, elapsedS } = report;
    console.log(`| ${[seed, rounds, acknowledged, finished, duplicated, lost, unexpected, elapsedS].join(' | ')} |`);
    if (lost > 0 || unexpected > 0) {
      console.log(`lost (first 20): ${report.lostBodies.join(', ')}`);
      process.exitCode = 1;
    }
  },
  true,
);
await section(
  'fuzz',
  async () => {
    // Long (a minute per target by default): only when named.
    const rows = await fuzzBenchmark();
    printFuzzTable(rows);
    if (rows.some((row) => row.failures.length > 0)) process.exitCode = 1;
  },
  true,
);
await section(
  'heartbeats',
  async () => {
    printTable("Heartbeats (the broker in-process on fake sockets: its own CPU, not the kernel's)", await heartbeatBenchmarks());
  },
  true,
);
await section(
  'publish-path',
  async () => {
    printTable('Publish path (the broker in-process, no sockets: CPU per message, all threads)', await publishPathBenchmarks());
  },
  true,
);
await section(
  'scale',
  async () => {
    // Long, and the deep backlog takes gigabytes of disk: only when named.
    const { rows, soak } = await scaleBenchmarks();
    printTable('Scale (the compiled broker; beside nsqd when NSQD_BIN is set)', rows);
    if (soak.length > 0) console.log(`\nSoak (steady 10,000 msg/s in and out)\n\n${soak.join('\n')}`);
  },
  true,
);
await section('client', async () => {
  // The client benchmark prints its own table (with CPU per message beside the rates).
  await import('./client.ts');
});
await section('console', async () => {
  printTable('Console (headless Chromium on the bundled broker; target: open in under a second)', await consoleBenchmarks());
});
await section(
  'reload-probe',
  async () => {
    // The first rows of `reload` alone, to repeat them: only when named.
    const { rows, verdicts } = await reloadProbeBenchmark();
    printTable('Hot reload probe (--watch; saves 300 ms apart under a steady HTTP publish stream)', rows);
    console.log(`\n${verdicts.join('\n')}`);
    goals.push(...targetGoals('hot reload', rows));
  },
  true,
);
await section('reload', async () => {
  const { rows, verdicts } = await reloadBenchmarks();
  printTable('Hot reload (--watch, the CLI on a worker project in a temp folder; target: what the issue asks)', rows);
  console.log(`\n${verdicts.join('\n')}`);
  goals.push(...targetGoals('hot reload', rows));
});

if (goals.length > 0) printGoals(goals);
if (failures.length > 0) {
  console.log(`\nfailed: ${failures.join(', ')}`);
  process.exitCode = 1;
}
