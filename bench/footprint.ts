/**
 * What a process of ours costs at rest and under load, as users run it (the compiled bin), beside
 * real nsqd/nsqlookupd when NSQD_BIN / NSQLOOKUPD_BIN are set, in the same run:
 *
 * - idle RSS of `nsqworker broker` and `nsqworker lookupd`, 1.5 s after they listen (bare `node` too,
 *   the floor);
 * - the broker's peak RSS (VmHWM) while MPUB load (batches of 200 × 200 B, bench_writer's shape)
 *   builds a 1,000,000-message backlog;
 * - `nsqworker --help`, and a worker's `--topic T --channel C --help`, wall time (median of 5);
 * - a worker on the embedded broker: start → "subscribed", wall time (median of 5), in a project of
 *   `npm init -y`'s "type": "commonjs" and in one of "type": "module" (tsx's ES module hooks: a
 *   thread the main one waits for while it starts);
 * - `--watch`: the runner's RSS, each child's RSS and private memory (USS: what one more child
 *   costs), and the whole tree's PSS and summed RSS, 2 s after the start: the active host and, as
 *   in a run's first minute edits are expected, two warm standbys (one after a minute without a save).
 *
 * Run: npm run bench footprint
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliProjects } from '../test/integration/helpers/cli-project.ts';
import { processTree, rssBytes } from '../test/integration/helpers/reload-fixture.ts';
import type { Row } from './broker.ts';
import { startBrokerProcess } from './lib/broker-process.ts';
import { publishLoad } from './lib/raw-load.ts';

const CLI = fileURLToPath(new URL('../bin/nsqworker.js', import.meta.url));
const MB = 1024 * 1024;
const BACKLOG = 1_000_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Resolves when `child` prints a line containing `text` (stdout or stderr). */
function printed(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before printing ${JSON.stringify(text)}:\n${seen}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Idle RSS of a server 1.5 s after it printed `ready`. */
async function idleRss(command: string, args: string[], ready: string): Promise<number> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await printed(child, ready);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const rss = rssBytes(child.pid!);
  await stop(child);
  return rss;
}

async function idleRows(): Promise<Row[]> {
  const dataPath = await mkdtemp(join(tmpdir(), 'bench-footprint-'));
  const free = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];
  const broker: Record<string, number> = {
    nsqworker: await idleRss(process.execPath, [CLI, 'broker', ...free, `--data-path=${dataPath}`], 'TCP: listening'),
  };
  if (process.env.NSQD_BIN) broker.nsqd = await idleRss(process.env.NSQD_BIN, [...free, `--data-path=${dataPath}`], 'TCP: listening');
  const lookupd: Record<string, number> = { nsqworker: await idleRss(process.execPath, [CLI, 'lookupd', ...free], 'TCP: listening') };
  if (process.env.NSQLOOKUPD_BIN) lookupd.nsqlookupd = await idleRss(process.env.NSQLOOKUPD_BIN, free, 'TCP: listening');
  const floor = await idleRss(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000)"], 'ready');
  await rm(dataPath, { recursive: true, force: true });
  const mb = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value / MB]));
  return [
    { metric: 'broker idle RSS (target ≤ 55)', unit: 'MB', higherIsBetter: false, values: mb(broker) },
    { metric: 'lookupd idle RSS (target ≤ 55)', unit: 'MB', higherIsBetter: false, values: mb(lookupd) },
    { metric: 'bare node idle RSS (the floor)', unit: 'MB', higherIsBetter: false, values: { nsqworker: floor / MB } },
  ];
}

async function backlogRow(): Promise<Row> {
  const values: Record<string, number> = {};
  const kinds: Array<'bundled' | 'nsqd'> = process.env.NSQD_BIN ? ['bundled', 'nsqd'] : ['bundled'];
  for (const kind of kinds) {
    const broker = await startBrokerProcess(kind);
    await publishLoad(broker.tcpPort, 'footprint', Buffer.alloc(200, 0x61), BACKLOG, 200, 16);
    values[broker.name] = broker.peakRssBytes() / MB;
    await broker.stop();
  }
  return { metric: `broker peak RSS building a ${BACKLOG.toLocaleString('en')}-message backlog, MPUB 200 × 200 B (target ≤ 80)`, unit: 'MB', higherIsBetter: false, values };
}

async function timed(args: string[], cwd: string, until?: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (until === undefined) {
    await new Promise((resolve) => child.once('exit', resolve));
    return performance.now() - started;
  }
  await printed(child, until);
  const elapsed = performance.now() - started;
  await stop(child);
  return elapsed;
}

const WORKER = "import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { a() {}, b() {} } });\n";

/** One figure per project kind: `npm init -y`'s "type": "commonjs" (tsx's require hooks only) and "type": "module" (its ES module hooks too). */
type ByKind = { commonjs: number; module: number };

async function startupRows(): Promise<Row[]> {
  const projects = new CliProjects();
  try {
    const module = await projects.create();
    await module.writeWorker('fp', 'c', WORKER);
    const commonjs = await projects.create();
    await writeFile(commonjs.path('package.json'), '{"type":"commonjs"}\n');
    await commonjs.writeWorker('fp', 'c', WORKER);
    const help: number[] = [];
    const workerHelp: number[] = [];
    const subscribed = { commonjs: [] as number[], module: [] as number[] };
    for (let i = 0; i < 5; i++) {
      help.push(await timed(['--help'], commonjs.dir));
      workerHelp.push(await timed(['--topic', 'fp', '--channel', 'c', '--help'], commonjs.dir));
      for (const [kind, project] of [['commonjs', commonjs], ['module', module]] as const) {
        const run = ['--topic', 'fp', '--channel', 'c', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', project.path(`data-${i}`)];
        subscribed[kind].push(await timed(run, project.dir, '"msg":"subscribed"'));
      }
    }
    const watched = { commonjs: await watchMemory(commonjs.dir), module: await watchMemory(module.dir) };
    const byKind = (metric: string, unit: string, value: (kind: keyof ByKind) => number): Row[] =>
      (['commonjs', 'module'] as const).map((kind) => ({ metric: `${metric}, "type": "${kind}"`, unit, higherIsBetter: false, values: { nsqworker: value(kind) } }));
    return [
      { metric: 'nsqworker --help (target ≤ 250)', unit: 'ms', higherIsBetter: false, values: { nsqworker: median(help) } },
      { metric: "a worker's --topic T --channel C --help (target ≤ 500)", unit: 'ms', higherIsBetter: false, values: { nsqworker: median(workerHelp) } },
      ...byKind('start → worker subscribed, embedded broker (target ≤ 500)', 'ms', (kind) => median(subscribed[kind])),
      ...byKind('--watch: runner process RSS', 'MB', (kind) => watched[kind].parent / MB),
      ...byKind('--watch: each child process RSS (node itself is most of it, shared)', 'MB', (kind) => watched[kind].childRss / MB),
      ...byKind('--watch: what each child adds, private memory (USS; target ≤ 50)', 'MB', (kind) => watched[kind].childUss / MB),
      ...byKind('--watch: all processes, PSS (shared pages counted once)', 'MB', (kind) => watched[kind].totalPss / MB),
      ...byKind('--watch: all processes, RSS summed (shared pages counted in each)', 'MB', (kind) => watched[kind].totalRss / MB),
    ];
  } finally {
    await projects.cleanup();
  }
}

/**
 * A process's memory from `/proc/PID/smaps_rollup`, in bytes: resident (RSS), proportional (PSS: shared
 * pages split between the processes that map them, so PSS adds up across processes) and private (USS:
 * what the process alone holds — what starting one more such process costs the machine).
 */
function memoryOf(pid: number): { rss: number; pss: number; uss: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return { rss: rssBytes(pid), pss: 0, uss: 0 };
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
}

interface WatchMemory {
  parent: number;
  /** The largest child (the active host or a warm standby), RSS and USS. */
  childRss: number;
  childUss: number;
  /** PSS summed over every process: the tree's real total, shared pages counted once. */
  totalPss: number;
  totalRss: number;
}

/** Memory under --watch, 2 s after the start: the runner, and its children (the active host and the warm standbys). */
async function watchMemory(dir: string): Promise<WatchMemory> {
  const args = ['--topic', 'fp', '--channel', 'c', '--watch', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', join(dir, 'data-watch')];
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  await printed(child, '"msg":"subscribed"');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const memories = processTree(child.pid!).map((pid) => ({ pid, ...memoryOf(pid) }));
  await stop(child);
  const children = memories.filter((memory) => memory.pid !== child.pid);
  return {
    parent: memories.find((memory) => memory.pid === child.pid)?.rss ?? 0,
    childRss: Math.max(0, ...children.map((memory) => memory.rss)),
    childUss: Math.max(0, ...children.map((memory) => memory.uss)),
    totalPss: memories.reduce((sum, memory) => sum + memory.pss, 0),
    totalRss: memories.reduce((sum, memory) => sum + memory.rss, 0),
  };
}

export async function footprintBenchmarks(): Promise<Row[]> {
  readFileSync(CLI); // fail early without a build
  return [...(await idleRows()), await backlogRow(), ...(await startupRows())];
}
