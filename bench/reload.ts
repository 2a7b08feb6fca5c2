/**
 * Hot reload (`nsqworker --topic T --channel C --watch`), measured black-box on a throwaway project
 * (the fixture of test/integration/reload.test.ts: a worker that records each message it handles,
 * with its code version and the time, to handled.jsonl), the CLI spawned as users run it:
 *
 * - the probe (reload-probe.ts), on a run of its own: a steady HTTP publish stream, and ten saves,
 *   each 300 ms after the previous one's code handled its first message; save → that first
 *   message, median and max. Whatever the runner is doing when the save lands (a standby
 *   starting, code moving to it) is part of it. Then the same with saves 600 ms apart, as a note;
 * - save → first message handled by the new code, no task running: the file is written, the
 *   benchmark waits for "worker code reloaded", publishes one message, and takes the handled
 *   record's time minus the time of the write. Over 30 saves each once the standby is warm (a
 *   person saving every second or so), and over 10 saves back to back (the next save as soon as
 *   the last one's message is handled: each loads beside the code before it, in one child);
 * - 50 reloads in a row under a steady publish load (about 400 msg/s), then the exactly-once check:
 *   every acknowledged message handled once, none twice, none missing;
 * - resident memory (VmRSS) of the runner plus its child processes after the 1st and after the
 *   100th reload, each taken at rest: standby warm, old child gone;
 * - the start: the command → every task subscribed, with --watch, without, and of `dev`, runs interleaved.
 *
 * Run: npm run bench reload (the probe alone: npm run bench reload-probe)
 */
import { readFileSync } from 'node:fs';
import { Producer } from '../client/producer.ts';
import { brokerStats, CliProjects, eventually, publish, type CliProject, type CliRun } from '../test/integration/helpers/cli-project.ts';
import {
  CHANNEL,
  TOPIC,
  WORKER_FILE,
  isAlive,
  processTree,
  rssBytes,
  workerSource,
  writeReloadProject,
  type Handled,
} from '../test/integration/helpers/reload-fixture.ts';
import { STANDBYS } from '../runner/reload/standby-pool.ts';
import type { Row } from './broker.ts';
import { probeSaves } from './reload-probe.ts';

const WARM_SAVES = Number(process.env.BENCH_RELOAD_SAVES ?? 30);
const BACK_TO_BACK_SAVES = 10;
const LOADED_RELOADS = 50;
const MEMORY_RELOADS = 100;
/** One publish every 5 ms, two messages each. */
const LOAD_TICK_MS = 5;
const LOAD_PER_TICK = 2;

const STARTS = 7;
const PROBE_SAVES = 10;
const PROBE_SPACING_MS = 300;
/** The same probe with saves this far apart, beside it: a calmer pace of saves. */
const PROBE_RELAXED_SPACING_MS = 600;
const TARGET_PROBE_MEDIAN_MS = 100;
const TARGET_PROBE_MAX_MS = 250;
const TARGET_GROWTH_MB = 50;

/** How many of `pids` are reload children with their esbuild service started (warm, tsx has compiled). */
function hostsIn(pids: readonly number[]): number {
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('reload/host.js') && processTree(pid).length > 1;
    } catch {
      return false;
    }
  }).length;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const MB = 1024 * 1024;

class ReloadSession {
  version = 1;
  reloads = 0;
  /** The child that handled the last probe, and the one before the last save (which that save retired). */
  activePid: number | undefined;
  retiredPid: number | undefined;
  private published = 0;

  constructor(
    readonly project: CliProject,
    readonly run: CliRun,
    readonly httpAddress: string,
    readonly tcpAddress: string,
  ) {}

  /**
   * Waits until every standby of the pool is warm after the last reload (there is none before the
   * first): the runner logs each standby's warm-up at debug, with how many of the pool are warm by then.
   */
  async standbyWarm(): Promise<void> {
    // None starts before the first save.
    if (this.reloads === 0) return;
    const lines = this.run.lines;
    const from = lines.findIndex((line) => line.msg === 'worker code reloaded' && line.reloads === this.reloads) + 1;
    await this.run.waitForLine(
      (line) =>
        line.msg === 'standby worker host warm' && line.warm === line.standbys && Number(line.standbys) >= STANDBYS && lines.indexOf(line) >= from,
      `every standby warm after reload ${this.reloads}`,
      60_000,
    );
  }

  /** Saves the next version; resolves with the time of the write and the "worker code reloaded" line's time. */
  async save(): Promise<{ savedAt: number; reloadedAt: number; durationMs: number }> {
    this.version++;
    this.retiredPid = this.activePid;
    const source = workerSource({ version: this.version });
    const before = this.reloads;
    const savedAt = Date.now();
    await this.project.write(WORKER_FILE, source);
    // A save split by the editor may make a second reload: count what the runner counts.
    const line = await this.run.waitForLine((logged) => logged.msg === 'worker code reloaded' && Number(logged.reloads) > before, `a reload after #${before}`, 60_000);
    this.reloads = Number(line.reloads);
    return { savedAt, reloadedAt: Number(line.time), durationMs: Number(line.durationMs) };
  }

  /** Publishes a message and waits for its record, again until the current version handled one. */
  async handleOne(): Promise<Handled> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const id = `probe-${this.published++}`;
      await publish(this.httpAddress, TOPIC, id);
      const record = await eventually(
        async () => (await this.project.records<Handled>('handled.jsonl')).find((handled) => handled.id === id),
        `${id} handled`,
        60_000,
      );
      this.activePid = record.pid;
      if (record.version === this.version) return record;
      if (Date.now() > deadline) throw new Error(`${id} was handled by version ${record.version}, not ${this.version}`);
    }
  }

  /**
   * Memory at rest: the child that ran the code before the last save gone (the code moved on), and
   * the running child and its standby all there is, every standby started warm (the one the move's
   * refill started too): the same processes in the same state at every measurement.
   */
  async memoryAtRest(): Promise<{ total: number; parent: number; processes: number }> {
    await this.standbyWarm();
    const retired = this.retiredPid;
    if (retired !== undefined) await eventually(() => (isAlive(retired) ? undefined : true), 'the replaced child to exit', 30_000);
    const pid = this.run.child.pid!;
    const count = (msg: string): number => this.run.lines.filter((line) => line.msg === msg).length;
    await eventually(
      () => (hostsIn(processTree(pid)) === 1 + STANDBYS && count('standby worker host warm') === count('standby worker host starting') ? true : undefined),
      'the running child and a warm standby, no other',
      60_000,
    );
    const tree = processTree(pid);
    return { total: tree.reduce((sum, each) => sum + rssBytes(each), 0), parent: rssBytes(pid), processes: tree.length };
  }
}

/** Save → first message handled by the new code, one save at a time. */
async function latencies(session: ReloadSession, saves: number, waitForStandby: boolean): Promise<{ handled: number[]; reloaded: number[]; reloadMs: number[] }> {
  const handled: number[] = [];
  const reloaded: number[] = [];
  const reloadMs: number[] = [];
  for (let i = 0; i < saves; i++) {
    if (waitForStandby) await session.standbyWarm();
    const { savedAt, reloadedAt, durationMs } = await session.save();
    const record = await session.handleOne();
    handled.push(record.at - savedAt);
    reloaded.push(reloadedAt - savedAt);
    reloadMs.push(durationMs);
  }
  return { handled, reloaded, reloadMs };
}

/** Reloads in a row while a producer publishes steadily; then every message must have been handled exactly once. */
async function reloadsUnderLoad(session: ReloadSession, count: number): Promise<{ published: number; duplicates: number; missing: number; seconds: number }> {
  const producer = new Producer({ nsqdTcpAddresses: [session.tcpAddress], closeTimeoutMs: 2000 });
  const acked = new Set<string>();
  let failures = 0;
  let attempted = 0;
  let sequence = 0;
  const pacer = setInterval(() => {
    for (let i = 0; i < LOAD_PER_TICK; i++) {
      const id = `load-${sequence++}`;
      attempted++;
      producer.publish(TOPIC, id).then(
        () => acked.add(id),
        () => failures++,
      );
    }
  }, LOAD_TICK_MS);
  const started = performance.now();
  try {
    for (let i = 0; i < count; i++) await session.save();
  } finally {
    clearInterval(pacer);
  }
  const seconds = (performance.now() - started) / 1000;
  await eventually(() => (acked.size + failures === attempted ? true : undefined), 'every publish answered', 30_000);
  await producer.close();
  if (failures > 0) throw new Error(`${failures} publishes failed`);
  await eventually(
    async () => {
      const channel = (await brokerStats(session.httpAddress)).topics.find((t) => t.topic_name === TOPIC)?.channels.find((c) => c.channel_name === CHANNEL);
      return channel !== undefined && channel.depth === 0 && channel.in_flight_count === 0 && channel.deferred_count === 0 ? true : undefined;
    },
    'the channel to drain',
    60_000,
  );
  const counts = new Map<string, number>();
  for (const record of await session.project.records<Handled>('handled.jsonl')) {
    if (record.id.startsWith('load-')) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
  }
  const duplicates = [...counts.values()].filter((n) => n > 1).length;
  const missing = [...acked].filter((id) => !counts.has(id)).length;
  return { published: acked.size, duplicates, missing, seconds };
}

/** Milliseconds from the command to every task subscribed, `STARTS` runs each with and without --watch and of `dev`, interleaved. */
async function startTimes(projects: CliProjects): Promise<Record<'plain' | 'watch' | 'dev', number[]>> {
  const project = await projects.create();
  await writeReloadProject(project);
  const times = { plain: [] as number[], watch: [] as number[], dev: [] as number[] };
  const dev = ['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', project.path('dev-data'), '--console-address', 'off'];
  for (let i = 0; i < STARTS; i++) {
    for (const mode of ['plain', 'watch', 'dev'] as const) {
      const startedAt = Date.now();
      const run = mode === 'dev' ? project.spawn(dev) : project.startWorker(TOPIC, CHANNEL, mode === 'watch' ? ['--watch'] : []);
      await run.subscribed(['apply']);
      times[mode].push(Date.now() - startedAt);
      run.kill('SIGTERM');
      await run.waitForExit();
    }
  }
  return times;
}

export interface ReloadBenchmark {
  rows: Row[];
  /** Each target, and whether this run met it. */
  verdicts: string[];
}

const row = (metric: string, unit: string, measured: number, target?: number): Row => ({
  metric,
  unit,
  higherIsBetter: false,
  values: target === undefined ? { measured } : { measured, target },
});
const verdict = (met: boolean, text: string): string => `${met ? 'met   ' : 'MISSED'}  ${text}`;

/** The probe alone (`npm run bench reload-probe`): quick enough to repeat on a noisy machine. */
export async function reloadProbeBenchmark(): Promise<ReloadBenchmark> {
  const projects = new CliProjects();
  try {
    const probe = await probeSaves(projects, PROBE_SAVES, PROBE_SPACING_MS);
    const relaxed = await probeSaves(projects, PROBE_SAVES, PROBE_RELAXED_SPACING_MS);
    const median = percentile(probe.latencies, 0.5);
    const max = Math.max(...probe.latencies);
    const what = `${PROBE_SAVES} saves ${PROBE_SPACING_MS} ms apart, HTTP stream`;
    return {
      rows: [row(`save → first message handled, median (${what})`, 'ms', median, TARGET_PROBE_MEDIAN_MS), row(`save → first message handled, max (${what})`, 'ms', max, TARGET_PROBE_MAX_MS)],
      verdicts: [
        verdict(
          median <= TARGET_PROBE_MEDIAN_MS && max <= TARGET_PROBE_MAX_MS,
          `save → first message handled by the new code, ${what}: median ${median} ms (≤ ${TARGET_PROBE_MEDIAN_MS}), max ${max} ms (≤ ${TARGET_PROBE_MAX_MS}); each: ${probe.latencies.join(', ')}`,
        ),
        verdict(
          probe.outOfOrder + relaxed.outOfOrder === 0,
          `no message handled by older code after newer code had started: ${probe.outOfOrder + relaxed.outOfOrder} (${probe.published + relaxed.published} published)`,
        ),
        `note    the same probe with saves ${PROBE_RELAXED_SPACING_MS} ms apart: median ${percentile(relaxed.latencies, 0.5)} ms, max ${Math.max(...relaxed.latencies)} ms; each: ${relaxed.latencies.join(', ')}`,
      ],
    };
  } finally {
    await projects.cleanup();
  }
}

export async function reloadBenchmarks(): Promise<ReloadBenchmark> {
  const probe = await reloadProbeBenchmark();
  const projects = new CliProjects();
  try {
    const project = await projects.create();
    await writeReloadProject(project);
    const run = project.startWorker(TOPIC, CHANNEL, ['--watch', '--log-level', 'debug']);
    const { httpAddress, tcpAddress } = await run.brokerAddresses();
    await run.subscribed(['apply']);
    const session = new ReloadSession(project, run, httpAddress, tcpAddress);
    await session.handleOne();

    await session.standbyWarm();
    await session.save();
    await session.handleOne();
    const memoryAfterFirst = await session.memoryAtRest();

    const warm = await latencies(session, WARM_SAVES, true);
    const backToBack = await latencies(session, BACK_TO_BACK_SAVES, false);
    await session.standbyWarm();
    const load = await reloadsUnderLoad(session, LOADED_RELOADS);

    await session.handleOne();
    while (session.reloads < MEMORY_RELOADS) {
      await session.standbyWarm();
      await session.save();
      await session.handleOne();
    }
    const memoryAfterLast = await session.memoryAtRest();

    run.kill('SIGTERM');
    await run.waitForExit();
    const starts = await startTimes(projects);

    const growthMb = (memoryAfterLast.total - memoryAfterFirst.total) / MB;
    const rows: Row[] = [
      ...probe.rows,
      row(`save → first message handled, median (${WARM_SAVES} saves, standby warm)`, 'ms', percentile(warm.handled, 0.5)),
      row(`save → first message handled, p90 (${WARM_SAVES} saves, standby warm)`, 'ms', percentile(warm.handled, 0.9)),
      row('  of which save → "worker code reloaded", median', 'ms', percentile(warm.reloaded, 0.5)),
      row('  of which the reload itself (load + swap), median', 'ms', percentile(warm.reloadMs, 0.5)),
      row(`save → first message handled, median (${BACK_TO_BACK_SAVES} saves back to back)`, 'ms', percentile(backToBack.handled, 0.5)),
      row(`save → first message handled, p90 (${BACK_TO_BACK_SAVES} saves back to back)`, 'ms', percentile(backToBack.handled, 0.9)),
      row(`${LOADED_RELOADS} reloads under load: messages published`, 'messages', load.published),
      row(`${LOADED_RELOADS} reloads under load: handled twice`, 'messages', load.duplicates, 0),
      row(`${LOADED_RELOADS} reloads under load: never handled`, 'messages', load.missing, 0),
      row(`${LOADED_RELOADS} reloads under load: time per reload`, 'ms', (load.seconds * 1000) / LOADED_RELOADS),
      row(`RSS, runner and its ${memoryAfterFirst.processes - 1} descendant processes, after reload 1`, 'MB', memoryAfterFirst.total / MB),
      row(`RSS, runner and its ${memoryAfterLast.processes - 1} descendant processes, after reload ${MEMORY_RELOADS}`, 'MB', memoryAfterLast.total / MB),
      row(`RSS growth from reload 1 to ${MEMORY_RELOADS}`, 'MB', growthMb, TARGET_GROWTH_MB),
      row(`  of which the runner (parent): after reload 1 → ${MEMORY_RELOADS}`, 'MB', (memoryAfterLast.parent - memoryAfterFirst.parent) / MB),
      row(`start → every task subscribed, --watch, median of ${STARTS}`, 'ms', percentile(starts.watch, 0.5)),
      row(`start → every task subscribed, without --watch, median of ${STARTS}`, 'ms', percentile(starts.plain, 0.5)),
      row(`start → every task subscribed, nsqworker dev, median of ${STARTS}`, 'ms', percentile(starts.dev, 0.5)),
    ];
    const verdicts = [
      ...probe.verdicts,
      verdict(
        load.duplicates === 0 && load.missing === 0,
        `${LOADED_RELOADS} reloads under a steady publish load, every message handled exactly once: ${load.published} published, ${load.duplicates} twice, ${load.missing} missing`,
      ),
      verdict(growthMb < TARGET_GROWTH_MB, `memory after ${MEMORY_RELOADS} reloads within ${TARGET_GROWTH_MB} MB of memory after the first: ${growthMb.toFixed(1)} MB`),
      `note    saves back to back, each loaded beside the code before it: median ${percentile(backToBack.handled, 0.5)} ms`,
    ];
    return { rows, verdicts };
  } finally {
    await projects.cleanup();
  }
}
