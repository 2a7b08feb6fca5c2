/**
 * `npm run bench`: every benchmark, printed as one table. Figures from these noisy machines are only
 * meaningful side by side with a peer measured in the same run, so each row shows the peers and the
 * ratio where there is one.
 */
import { brokerBenchmarks, type Row } from './broker.ts';
import { consoleBenchmarks } from './console.ts';
import { footprintBenchmarks } from './footprint.ts';
import { reloadBenchmarks } from './reload.ts';
import { runnerBenchmarks } from './runner.ts';
import { syncBenchmarks } from './sync.ts';
import { crashBenchmark } from './crash.ts';
import { scaleBenchmarks } from './scale.ts';
import { fuzzBenchmark, printFuzzTable } from './fuzz.ts';
import { heartbeatBenchmarks } from './heartbeats.ts';

function format(value: number, unit: string): string {
  if (unit === 'MB' || unit === 'ms') return value.toFixed(unit === 'MB' ? 1 : 0);
  if (unit === 'msg/s') return Math.round(value).toLocaleString('en');
  if (unit === 'messages') return String(Math.round(value));
  return value.toFixed(unit === 'ms' ? 2 : 1);
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
if (only === undefined || only === 'broker') {
  printTable('Broker (load over raw TCP from a separate process)', await brokerBenchmarks());
}
if (only === undefined || only === 'footprint') {
  printTable('Footprint (the compiled bin as users run it; beside nsqd/nsqlookupd when NSQD_BIN/NSQLOOKUPD_BIN are set)', await footprintBenchmarks());
}
if (only === undefined || only === 'sync') {
  printTable('Sync mode publish (--mem-queue-size=0 --sync-every=1: every OK is fsynced)', await syncBenchmarks());
}
if (only === 'crash') {
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
}
if (only === 'fuzz') {
  // Long (a minute per target by default): only when named.
  const rows = await fuzzBenchmark();
  printFuzzTable(rows);
  if (rows.some((row) => row.failures.length > 0)) process.exitCode = 1;
}
if (only === 'heartbeats') {
  printTable('Heartbeats (the broker in-process on fake sockets: its own CPU, not the kernel\'s)', await heartbeatBenchmarks());
}
if (only === 'scale') {
  // Long, and the deep backlog takes gigabytes of disk: only when named.
  const { rows, soak } = await scaleBenchmarks();
  printTable('Scale (the compiled broker; beside nsqd when NSQD_BIN is set)', rows);
  if (soak.length > 0) console.log(`\nSoak (steady 10,000 msg/s in and out)\n\n${soak.join('\n')}`);
}
if (only === undefined || only === 'runner') {
  printTable('Runner (a no-op worker against the bare Consumer, same broker, same run)', await runnerBenchmarks());
}
if (only === undefined || only === 'client') {
  // The client benchmark prints its own table (with CPU per message beside the rates).
  await import('./client.ts');
}
if (only === undefined || only === 'console') {
  printTable('Console (headless Chromium on the bundled broker; target: open in under a second)', await consoleBenchmarks());
}
if (only === undefined || only === 'reload') {
  const { rows, verdicts } = await reloadBenchmarks();
  printTable('Hot reload (--watch, the CLI on a worker project in a temp folder; target: what the issue asks)', rows);
  console.log(`\n${verdicts.join('\n')}`);
}
