/**
 * Child-process brokers for crash tests: started on 127.0.0.1 port 0 with a given data path, killed
 * with SIGKILL (nothing persisted) or stopped with a signal. Every child started is killed by
 * `killAll()`, which tests call in afterEach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./child-broker-main.ts', import.meta.url));

let bundled: Promise<string> | undefined;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The child's script bundled from the current sources into one file (esbuild, ~0.1 s once per test
 * process): a broker then starts in a few hundred ms, where loading the sources through tsx takes
 * seconds on a loaded machine, which crash tests that restart it many times cannot afford.
 */
function bundledMain(): Promise<string> {
  bundled ??= (async () => {
    // Named by pid: a test process ended without its 'exit' event leaves one behind, removed here
    // by the next run once that pid is gone.
    for (const entry of readdirSync(tmpdir())) {
      const pid = Number(/^nsqworker-child-broker-(\d+)$/.exec(entry)?.[1]);
      if (pid > 0 && !isAlive(pid)) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    }
    const dir = join(tmpdir(), `nsqworker-child-broker-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    // Once per test process: tests remove and rebuild the script, each adding a listener otherwise.
    const hooked = Symbol.for('nsqworker.test.childBrokerExitHook');
    if (!(hooked in process)) {
      Object.defineProperty(process, hooked, { value: true });
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    const outfile = join(dir, 'child-broker.mjs');
    await build({
      entryPoints: [MAIN],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: "import { createRequire as __childRequire } from 'node:module'; const require = __childRequire(import.meta.url);" },
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bundled;
}

/** Options as JSON: everything but the logger. */
export type ChildBrokerOptions = Omit<BrokerOptionsInput, 'logger'>;

export interface ChildBroker {
  readonly child: ChildProcess;
  readonly tcp: string;
  readonly http: string;
  readonly pid: number;
  /** Everything the broker logged so far (JSON lines). */
  stderr(): string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** A signal for a clean stop; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** What a child that could not start printed. */
export interface ChildStartFailure {
  error: string;
  message: string;
  ownerPid?: number;
}

const live = new Set<ChildProcess>();

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Starts a child broker; resolves once it listens, or with the failure it printed. */
export async function spawnBroker(options: ChildBrokerOptions, timeoutMs = 20_000, fdLimit?: number): Promise<ChildBroker | ChildStartFailure> {
  const args = [await bundledMain(), JSON.stringify(options)];
  // With a file-descriptor limit, through a shell that sets it and then becomes the broker.
  const [command, argv] =
    fdLimit === undefined ? [process.execPath, args] : ['/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...args]];
  const child = spawn(command, argv, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child broker did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child broker exited (${code ?? signal}) before it printed: ${stderr}`));
    });
  });
  lines.close();
  const parsed = JSON.parse(first) as { tcp: string; http: string; pid: number } | ChildStartFailure;
  if ('error' in parsed) {
    await exited(child);
    return parsed;
  }
  return {
    child,
    tcp: parsed.tcp,
    http: parsed.http,
    pid: parsed.pid,
    stderr: () => stderr,
    async kill() {
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const done = exited(child);
      child.kill(signal);
      return done;
    },
  };
}

/** Starts a child broker that must start; `fdLimit` caps its open files. */
export async function startChildBroker(options: ChildBrokerOptions, fdLimit?: number): Promise<ChildBroker> {
  const started = await spawnBroker(options, 20_000, fdLimit);
  if ('error' in started) throw new Error(`child broker failed to start: ${started.error} ${started.message}`);
  return started;
}

/** Kills every child still running, waits for them to go, and removes the bundled script. */
export async function killAllChildBrokers(): Promise<void> {
  const waits: Array<Promise<number | null>> = [];
  for (const child of live) {
    waits.push(exited(child));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
  // Test workers may end without an 'exit' event: nothing is left to the exit hook.
  const script = await bundled?.catch(() => undefined);
  bundled = undefined;
  if (script !== undefined) rmSync(dirname(script), { recursive: true, force: true });
}

/**
 * The child brokers one test starts, killed together when it ends: for tests that run side by side
 * (`describe.concurrent`), where killAllChildBrokers would kill the brokers of the others too.
 */
export class ChildBrokers {
  private readonly started = new Set<ChildBroker>();

  /** {@link startChildBroker}, the broker kept to be killed by {@link killAll}. */
  async start(options: ChildBrokerOptions, fdLimit?: number): Promise<ChildBroker> {
    const broker = await startChildBroker(options, fdLimit);
    this.started.add(broker);
    return broker;
  }

  /** SIGKILL to every broker this group started (those already gone resolve at once). */
  async killAll(): Promise<void> {
    const brokers = [...this.started];
    this.started.clear();
    await Promise.all(brokers.map((broker) => broker.kill()));
  }
}
