/**
 * Black-box fixtures for the worker runner: a throwaway project folder laid out as a user lays one
 * out (`package.json` with "type": "module", `node_modules/nsqworker` linked to this repository,
 * `workers/<topic>/<topic>_<channel>_worker.ts` written by the test), and the real
 * `bin/nsqworker.js` spawned in it. Stdout is read as JSON log lines; a test waits for a line that
 * matches a predicate, under a deadline, and never sleeps. `cleanup()` (run it in afterEach) kills
 * every child still running and removes every folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Consumer } from '../../../client/consumer.ts';
import type { Message } from '../../../client/message.ts';

/** The repository root, found from this file rather than assumed. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(REPO_ROOT, 'bin/nsqworker.js');

/** One JSON log line of the runner (pino): `msg` plus whatever fields the line carries. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface LineWaiter {
  predicate: (line: LogLine) => boolean;
  resolve: (line: LogLine) => void;
  reject: (error: Error) => void;
}

/** A running `nsqworker` child: stdout as parsed JSON lines (and raw text), stderr as text, its exit. */
export class CliRun {
  /** Every stdout line that parsed as a JSON object. */
  readonly lines: LogLine[] = [];
  /** Every stdout line, as text. */
  readonly text: string[] = [];
  stderr = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  private partial = '';
  private readonly waiters = new Set<LineWaiter>();

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      for (const part of parts) this.addLine(part);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    // 'close' rather than 'exit': every byte of stdout and stderr has been read by then.
    this.exited = once(child, 'close').then(([code, signal]) => {
      this.exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      for (const waiter of this.waiters) waiter.reject(new Error(`nsqworker exited (${JSON.stringify(this.exit)}) first\n${this.describe()}`));
      this.waiters.clear();
      return this.exit;
    });
  }

  private addLine(text: string): void {
    this.text.push(text);
    let line: LogLine;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) return;
      line = parsed as LogLine;
    } catch {
      return;
    }
    this.lines.push(line);
    for (const waiter of this.waiters) {
      if (!waiter.predicate(line)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(line);
    }
  }

  /** The output so far, for failure messages. */
  describe(): string {
    return `stdout:\n${this.text.slice(-40).join('\n')}\nstderr:\n${this.stderr}`;
  }

  /** The first line (already seen, or to come) that matches; rejects on exit or after the deadline. */
  waitForLine(predicate: (line: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> {
    const seen = this.lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.exit !== undefined) return Promise.reject(new Error(`waiting for ${what}: nsqworker already exited\n${this.describe()}`));
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}\n${this.describe()}`));
      }, timeoutMs);
      const waiter: LineWaiter = {
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(new Error(`waiting for ${what}: ${error.message}`));
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** The first line whose `msg` contains `text` (and whose fields match `fields`, when given). */
  waitForMessage(text: string, fields: Record<string, unknown> = {}, timeoutMs?: number): Promise<LogLine> {
    const matches = (line: LogLine): boolean =>
      typeof line.msg === 'string' && line.msg.includes(text) && Object.entries(fields).every(([key, value]) => line[key] === value);
    return this.waitForLine(matches, `a log line ${JSON.stringify(text)} ${JSON.stringify(fields)}`, timeoutMs);
  }

  /** The embedded broker's bound addresses, from its "embedded broker listening" line. */
  async brokerAddresses(): Promise<{ tcpAddress: string; httpAddress: string }> {
    const line = await this.waitForMessage('embedded broker listening');
    return { tcpAddress: String(line.tcpAddress), httpAddress: String(line.httpAddress) };
  }

  /** Waits until every task named has logged "subscribed": messages published after this reach every task. */
  async subscribed(tasks: readonly string[]): Promise<void> {
    for (const task of tasks) await this.waitForMessage('subscribed', { task });
  }

  /** The exit, within a deadline. */
  async waitForExit(timeoutMs = 15_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs}ms\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exit === undefined) this.child.kill(signal);
  }
}

/** What a short command (help, list, a usage error) printed, and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A project folder on disk: paths inside it, and files written into it. */
export class ProjectFolder {
  constructor(readonly dir: string) {}

  /** An absolute path inside the project. */
  path(relative: string): string {
    return path.join(this.dir, relative);
  }

  /** Writes a file (creating its folders). */
  async write(relative: string, text: string): Promise<void> {
    const file = this.path(relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}

/** One fixture project folder. */
export class CliProject extends ProjectFolder {
  constructor(
    dir: string,
    private readonly track: (run: CliRun) => void,
  ) {
    super(dir);
  }

  /** Writes `workers/<topic>/<topic>_<channel>_worker.ts`. */
  writeWorker(topic: string, channel: string, source: string): Promise<void> {
    return this.write(`workers/${topic}/${topic}_${channel}_worker.ts`, source);
  }

  /** JSON lines a worker appended to a file in the project ([] while the file does not exist). */
  async records<T = Record<string, unknown>>(relative: string): Promise<T[]> {
    const file = this.path(relative);
    if (!existsSync(file)) return [];
    const text = await readFile(file, 'utf8');
    // A line being appended right now may be partial: only complete lines count.
    return text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as T);
  }

  /**
   * Spawns `nsqworker <args>` in the project (or in `cwd`, a folder inside it, say). NSQWORKER_*
   * variables of the test process are not passed on.
   */
  spawn(args: readonly string[], env: Record<string, string> = {}, cwd = this.dir): CliRun {
    const childEnv: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('NSQWORKER_')) childEnv[key] = value;
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = new CliRun(child);
    this.track(run);
    return run;
  }

  /**
   * Runs a worker on an embedded broker on free ports, with short test settings; `args` come
   * last, so they can override any of these.
   */
  startWorker(topic: string, channel: string, args: readonly string[] = [], env: Record<string, string> = {}): CliRun {
    return this.spawn(
      [
        '--topic',
        topic,
        '--channel',
        channel,
        '--broker-tcp-address',
        '127.0.0.1:0',
        '--broker-http-address',
        '127.0.0.1:0',
        '--data-path',
        this.path('data'),
        '--requeue-delay',
        '50ms',
        '--shutdown-timeout',
        '5s',
        ...args,
      ],
      env,
    );
  }

  /** Runs a command that exits on its own, and returns its output. */
  async run(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 15_000, cwd = this.dir): Promise<CliResult> {
    const run = this.spawn(args, env, cwd);
    const { code } = await run.waitForExit(timeoutMs);
    return { code, stdout: run.text.join('\n'), stderr: run.stderr };
  }
}

/** The projects and processes of one test file; call `cleanup()` in afterEach. */
export class CliProjects {
  private readonly dirs: string[] = [];
  private readonly runs: CliRun[] = [];
  private readonly cleanups: Array<() => Promise<void>> = [];

  /**
   * A new project folder with `package.json` and `node_modules/{nsqworker,zod}` in place, under the
   * system's temp folder or `parent` (a project laid out inside this repository, say).
   */
  async create(options: { parent?: string } = {}): Promise<CliProject> {
    const dir = await mkdtemp(path.join(options.parent ?? os.tmpdir(), 'nsqworker-cli-'));
    this.dirs.push(dir);
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
    await mkdir(path.join(dir, 'node_modules'));
    await symlink(REPO_ROOT, path.join(dir, 'node_modules/nsqworker'), 'dir');
    await symlink(path.join(REPO_ROOT, 'node_modules/zod'), path.join(dir, 'node_modules/zod'), 'dir');
    return new CliProject(dir, (run) => this.runs.push(run));
  }

  /** Registers something else to release in cleanup (a consumer, a broker), released first. */
  defer(release: () => Promise<void>): void {
    this.cleanups.push(release);
  }

  async cleanup(): Promise<void> {
    for (const release of this.cleanups.splice(0).reverse()) await release().catch(() => undefined);
    await Promise.all(
      this.runs.splice(0).map(async (run) => {
        run.kill('SIGKILL');
        await run.exited;
      }),
    );
    await Promise.all(this.dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** Publishes one message through the broker's HTTP API. */
export async function publish(httpAddress: string, topic: string, body: string | object): Promise<void> {
  const response = await fetch(`http://${httpAddress}/pub?topic=${encodeURIComponent(topic)}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`/pub answered ${response.status}: ${await response.text()}`);
}

/** Polls `check` every 10 ms until it returns a value other than undefined; throws after the deadline. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The broker's /stats as JSON. */
export interface BrokerStats {
  topics: Array<{
    topic_name: string;
    message_count: number;
    depth: number;
    channels: Array<{
      channel_name: string;
      depth: number;
      in_flight_count: number;
      deferred_count: number;
      message_count: number;
      requeue_count: number;
      clients: Array<{ ready_count: number }>;
    }>;
  }>;
}

export async function brokerStats(httpAddress: string): Promise<BrokerStats> {
  const response = await fetch(`http://${httpAddress}/stats?format=json`);
  return (await response.json()) as BrokerStats;
}

/**
 * Subscribes to a topic with the client's Consumer and collects the messages it gets (each is
 * finished). The consumer is closed by `projects.cleanup()`.
 */
export function collect(projects: CliProjects, tcpAddress: string, topic: string, channel = 'test'): { messages: Message[] } {
  const messages: Message[] = [];
  const consumer = new Consumer({ topic, channel, nsqdTcpAddresses: [tcpAddress], maxInFlight: 10, closeTimeoutMs: 2000 }, (message) => {
    messages.push(message);
  });
  consumer.start();
  projects.defer(() => consumer.close());
  return { messages };
}
