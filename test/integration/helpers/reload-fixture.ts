/**
 * A worker project for hot-reload tests and the reload benchmark: a worker whose code carries a
 * version constant, imports a helper module of the project and reads an option from the config
 * file. Each message it handles is appended to `handled.jsonl` (the message's text, the version,
 * the helper's tag, the option, the child's pid and the time); its close hook appends to
 * `closed.jsonl`. Also: a watched run of it and the waits a test needs, and the process tree of a
 * runner, for pid and memory checks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { eventually, publish, type CliProject, type CliProjects, type CliRun, type LogLine } from './cli-project.ts';

export const TOPIC = 'edits';
export const CHANNEL = 'apply';
export const WORKER_FILE = `workers/${TOPIC}/${TOPIC}_${CHANNEL}_worker.ts`;
export const HELPER_FILE = `workers/${TOPIC}/tag.ts`;
export const CONFIG_FILE = 'nsqworker.config.ts';

/** One line of handled.jsonl. */
export interface Handled {
  id: string;
  version: number;
  tag: string;
  label: string;
  pid: number;
  at: number;
}

/** One line of closed.jsonl. */
export interface Closed {
  version: number;
  pid: number;
}

export interface WorkerSourceOptions {
  version: number;
  /** The option's schema; it must accept the config's `label`. */
  labelSchema?: string;
  /** Lines put right after the imports (line 6 onwards): a syntax error, a throw. */
  prelude?: string;
  /** Statements run first in the task, with `message` in scope. */
  taskPrelude?: string;
}

/**
 * The worker's source. Line numbers are stable: `prelude` starts at line 6, and the option's
 * declaration is at {@link labelLine}.
 */
export function workerSource({ version, labelSchema = 'z.string()', prelude = '', taskPrelude = '' }: WorkerSourceOptions): string {
  return [
    `import { appendFileSync } from 'node:fs';`,
    `import { defineWorker } from 'nsqworker';`,
    `import { z } from 'zod';`,
    `import { TAG } from './tag.ts';`,
    `const VERSION = ${version};`,
    prelude,
    `export default defineWorker({`,
    `  options: z.object({`,
    `    label: ${labelSchema},`,
    `  }),`,
    `  tasks: {`,
    `    apply(message, { options }) {`,
    `      ${taskPrelude}`,
    `      const record = { id: message.text(), version: VERSION, tag: TAG, label: options.label, pid: process.pid, at: Date.now() };`,
    `      appendFileSync('handled.jsonl', JSON.stringify(record) + '\\n');`,
    `    },`,
    `  },`,
    `  close() {`,
    `    appendFileSync('closed.jsonl', JSON.stringify({ version: VERSION, pid: process.pid }) + '\\n');`,
    `  },`,
    `});`,
    ``,
  ].join('\n');
}

/** The line of `label: <schema>` in {@link workerSource} when `prelude` is one line. */
export const labelLine = 9;
/** The first line of `prelude`. */
export const preludeLine = 6;

export function helperSource(tag: string): string {
  return `export const TAG = ${JSON.stringify(tag)};\n`;
}

export function configSource(label: string): string {
  return [
    `import { defineConfig } from 'nsqworker';`,
    `export default defineConfig({`,
    `  workers: {`,
    `    '${TOPIC}/${CHANNEL}': { label: ${JSON.stringify(label)} },`,
    `  },`,
    `});`,
    ``,
  ].join('\n');
}

/** Writes the worker (version 1), its helper (tag h1) and the config (label a). */
export async function writeReloadProject(project: CliProject): Promise<void> {
  await project.write(WORKER_FILE, workerSource({ version: 1 }));
  await project.write(HELPER_FILE, helperSource('h1'));
  await project.write(CONFIG_FILE, configSource('a'));
}

/** The runner's flags for a watched run on free ports. */
export const WATCH_ARGS = ['--watch', '--log-level', 'info'];

/** A watched run of the fixture on an embedded broker. */
export interface Watched {
  project: CliProject;
  run: CliRun;
  httpAddress: string;
  tcpAddress: string;
}

/** Writes the project, starts `--watch` (and `args`) on it and waits until its task is subscribed. */
export async function startWatched(projects: CliProjects, args: readonly string[] = []): Promise<Watched> {
  const project = await projects.create();
  await writeReloadProject(project);
  const run = project.startWorker(TOPIC, CHANNEL, [...WATCH_ARGS, ...args]);
  const { httpAddress, tcpAddress } = await run.brokerAddresses();
  await run.subscribed(['apply']);
  return { project, run, httpAddress, tcpAddress };
}

/** Publishes `id` and waits until the worker has recorded it. */
export async function handle(watched: Watched, id: string): Promise<Handled> {
  await publish(watched.httpAddress, TOPIC, id);
  return eventually(async () => (await watched.project.records<Handled>('handled.jsonl')).find((record) => record.id === id), `message ${id} handled`);
}

/** Publishes probes until one is handled by `version` of the code. */
export async function handledBy(watched: Watched, version: number): Promise<Handled> {
  let probe = 0;
  return eventually(async () => {
    const record = await handle(watched, `v${version}-probe-${probe++}`);
    return record.version === version ? record : undefined;
  }, `a message handled by version ${version}`);
}

/** The "worker code reloaded" line of the n-th reload. */
export function reloaded(run: CliRun, reloads: number): Promise<LogLine> {
  return run.waitForMessage('worker code reloaded', { reloads });
}

/** The n-th "reload failed" line (1-based). */
export function reloadFailed(run: CliRun, n: number): Promise<LogLine> {
  let seen = 0;
  // Lines are offered to the predicate once each, in order: counting them finds the n-th. 30 s: a
  // failure that is not the code's own fault on its face (a throw at import) is tried again in a
  // fresh child first, a start-up that took over 15 s under .ci/run with both cores busy.
  return run.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed') && ++seen === n, `reload failure #${n}`, 30_000);
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields after it are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** The pid and every live descendant of it (zombies excluded: they have exited). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined || stat.state === 'Z') continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (readStat(pid) === undefined) continue;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Whether a process is still running (a zombie is not: it has exited and waits to be reaped). */
export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** A process's argv from /proc, or none once it has gone (esbuild's service, say, between the listing and the read). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Resident memory of a process in bytes (VmRSS), 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** The resident memory of a process and all its descendants, in bytes. */
export function treeRssBytes(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + rssBytes(pid), 0);
}
