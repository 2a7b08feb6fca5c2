/**
 * deploy/supervisord.conf under a real supervisord (Debian's `supervisor`): the shipped program
 * section, with only the paths, user and environment of a test project changed, and the times
 * supervisord waits named per test (startsecs, startretries: see `supervisorFor`), runs a worker
 * against a broker started here. A restart in the middle of a steady stream loses no message and
 * runs none twice; a stop exits 0; a usage error (exit 2) ends in FATAL after a bounded number of
 * tries instead of looping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { eventually, REPO_ROOT, type CliProject } from './helpers/cli-project.ts';
import { IN_CI, freePort, missingTool, type DeployResources } from './deploy-support.ts';
import { deployTest } from './helpers/deploy-test.ts';

const missing = missingTool('supervisord', 'supervisor') ?? missingTool('supervisorctl', 'supervisor');

/** A program section of the shipped example (the worker's by default): key → value, in file order. */
async function shippedProgram(name = 'nsqworker-log-pageview'): Promise<Map<string, string>> {
  const text = await readFile(path.join(REPO_ROOT, 'deploy/supervisord.conf'), 'utf8');
  const section = new RegExp(`^\\[program:${name}\\]\\n([\\s\\S]*?)(?=^\\[|^;\\[|(?![\\s\\S]))`, 'm').exec(text);
  if (section === null) throw new Error(`deploy/supervisord.conf has no [program:${name}] section`);
  const entries = new Map<string, string>();
  for (const line of section[1]!.split('\n')) {
    const match = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (match !== null) entries.set(match[1]!, match[2]!);
  }
  return entries;
}

/** One supervisord with its own socket, pidfile and logs in a temp folder, run in the foreground. */
class Supervisor {
  readonly child: ChildProcess;
  output = '';
  /** Worker pids seen in `status` (and, at stop, in the log), killed in cleanup should supervisord fail to stop them. */
  readonly workerPids = new Set<number>();

  constructor(
    readonly dir: string,
    readonly config: string,
  ) {
    this.child = spawn('supervisord', ['--nodaemon', '--configuration', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /**
   * supervisorctl against this supervisord: its output and status. Asynchronous, because the broker
   * runs in this process and must keep serving the worker while a restart drains it.
   */
  async ctl(...args: string[]): Promise<{ code: number | null; output: string }> {
    const child = spawn('supervisorctl', ['--configuration', this.config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    return { code, output };
  }

  /** The program's state word (RUNNING, STARTING, BACKOFF, FATAL, ...), or undefined before supervisord answers. */
  async state(program: string): Promise<string | undefined> {
    const { output } = await this.ctl('status', program);
    const match = new RegExp(`^${program}\\s+([A-Z]+)`, 'm').exec(output);
    const pid = /pid (\d+)/.exec(output);
    if (pid !== null) this.workerPids.add(Number(pid[1]));
    return match?.[1];
  }

  log(): Promise<string> {
    return readFile(path.join(this.dir, 'supervisord.log'), 'utf8').catch(() => '');
  }

  /** Waits for a line of supervisord's log (cheaper to poll than supervisorctl). */
  async waitForLog(pattern: RegExp, what: string, timeoutMs: number): Promise<void> {
    try {
      await eventually(async () => (pattern.test(await this.log()) ? true : undefined), what, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await this.describe()}`);
    }
  }

  describe(): Promise<string> {
    return this.log().then((log) => `supervisord.log:\n${log}\nsupervisord output:\n${this.output}`);
  }

  /** Stops supervisord (it stops its programs first), under a deadline; then kills what is left. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    // Every program supervisord started, as its log names them: one it failed to stop (a stop cut
    // short by the deadline above, say) outlives it, parented to init, holding its ports.
    for (const [, pid] of (await this.log()).matchAll(/spawned: '[^']+' with pid (\d+)/g)) this.workerPids.add(Number(pid));
    for (const pid of this.workerPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
  }
}

/**
 * Writes a supervisord config in `dir` holding the shipped program section, renamed to `program`,
 * with the test project's command, folder, environment and log file, without `user=` (the test
 * runs as whoever runs it), and `overrides` set over the shipped values. The shipped startsecs (5)
 * is waited out at every start, and each of startretries' tries comes a second later than the one
 * before it: a test whose subject is not those numbers sets smaller ones.
 */
async function supervisorFor(
  resources: DeployResources,
  project: CliProject,
  program: string,
  args: string[],
  environment: Record<string, string>,
  overrides: Record<string, string> = {},
  /** The shipped broker program too, run with these arguments (its addresses and data path). */
  brokerArgs?: string[],
): Promise<Supervisor> {
  const dir = await resources.tempDir('nsqworker-supervisor-');
  const sections = [programFor(dir, project, program, await shippedProgram(), args, environment, overrides)];
  if (brokerArgs !== undefined) {
    sections.unshift(programFor(dir, project, 'nsqworker-broker', await shippedProgram('nsqworker-broker'), brokerArgs, { NODE_ENV: 'production' }, { startsecs: '1' }));
  }
  const config = [
    '[unix_http_server]',
    `file=${path.join(dir, 'supervisor.sock')}`,
    'chmod=0700',
    '[supervisord]',
    `logfile=${path.join(dir, 'supervisord.log')}`,
    `pidfile=${path.join(dir, 'supervisord.pid')}`,
    `childlogdir=${dir}`,
    'loglevel=info',
    '[rpcinterface:supervisor]',
    'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '[supervisorctl]',
    `serverurl=unix://${path.join(dir, 'supervisor.sock')}`,
    ...sections.flat(),
    '',
  ].join('\n');
  const file = path.join(dir, 'supervisord.conf');
  await writeFile(file, config);
  const supervisor = new Supervisor(dir, file);
  resources.defer(() => supervisor.stop());
  return supervisor;
}

/** A shipped program section as lines of config, with the test project's command, folder, environment and log. */
function programFor(
  dir: string,
  project: CliProject,
  program: string,
  shipped: Map<string, string>,
  args: string[],
  environment: Record<string, string>,
  overrides: Record<string, string>,
): string[] {
  shipped.delete('user');
  shipped.set('command', [process.execPath, project.path('node_modules/nsqworker/bin/nsqworker.js'), ...args].join(' '));
  shipped.set('directory', project.dir);
  shipped.set('environment', Object.entries(environment).map(([key, value]) => `${key}="${value}"`).join(','));
  shipped.set('stdout_logfile', path.join(dir, `${program}.log`));
  for (const [key, value] of Object.entries(overrides)) {
    if (!shipped.has(key)) throw new Error(`the shipped program section has no ${key} to override`);
    shipped.set(key, value);
  }
  return [`[program:${program}]`, ...[...shipped].map(([key, value]) => `${key}=${value}`)];
}

/** Appends "<id> <pid>" for each message after a short piece of work, so a restart finds tasks running. */
const STREAM_WORKER = `
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineWorker } from 'nsqworker';

export default defineWorker({
  tasks: {
    async handle(message) {
      await sleep(15);
      appendFileSync('handled.txt', message.text() + ' ' + process.pid + '\\n');
    },
  },
});
`;

/** STREAM_WORKER at 50 ms a message: a stream that is still running when the worker is killed. */
const SLOW_STREAM_WORKER = STREAM_WORKER.replace('sleep(15)', 'sleep(50)');

async function handled(project: CliProject): Promise<string[]> {
  const file = project.path('handled.txt');
  if (!existsSync(file)) return [];
  // Only complete lines: one may be being written right now.
  return (await readFile(file, 'utf8')).split('\n').slice(0, -1);
}

// Each test has a supervisord, projects and brokers of its own: their starts and waits overlap.
describe.skipIf(missing !== undefined && !IN_CI).concurrent(`supervisord${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {

  deployTest('has supervisord and supervisorctl installed', () => {
    expect(missing, 'under CI the deploy tests must run: .ci/run installs supervisor').toBeUndefined();
  });

  deployTest('restarts a worker mid-stream without losing or repeating a message, and stops it with exit 0', { timeout: 120_000 }, async ({ projects, resources }) => {
    const broker = await resources.broker();
    const project = await projects.create();
    await project.writeWorker('stream', 'handle', STREAM_WORKER);
    const program = 'nsqworker-stream-handle';
    const supervisor = await supervisorFor(resources, project, program, ['--topic', 'stream', '--channel', 'handle'], {
      NSQWORKER_NSQD_TCP_ADDRESSES: broker.tcpAddress,
      NSQWORKER_MAX_IN_FLIGHT: '8',
      NSQWORKER_SHUTDOWN_TIMEOUT: '10s',
      NSQWORKER_DEDUP_QUEUE_SIZE: '0',
    }, { startsecs: '1' });
    const workerLog = path.join(supervisor.dir, `${program}.log`);
    await supervisor.waitForLog(new RegExp(`success: ${program} entered RUNNING state`), `${program} to be RUNNING`, 30_000);
    expect(await supervisor.state(program)).toBe('RUNNING');
    await eventually(async () => ((await readFile(workerLog, 'utf8').catch(() => '')).includes('"msg":"subscribed"') ? true : undefined), 'the worker to subscribe');

    // A steady stream: 400 messages, one every 10 ms; the restart starts once 80 are handled,
    // while the rest are still being published.
    const total = 400;
    const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });
    resources.defer(() => producer.close());
    let published = 0;
    const publishing = (async () => {
      for (; published < total; published++) {
        await producer.publish('stream', `m${published}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await eventually(async () => ((await handled(project)).length >= 80 ? true : undefined), '80 messages to be handled');
    const publishedBeforeRestart = published;
    const restart = await supervisor.ctl('restart', program);
    expect(restart.output, await supervisor.describe()).toMatch(new RegExp(`${program}: stopped[\\s\\S]*${program}: started`));
    // The restart began with most of the stream still to come.
    expect(publishedBeforeRestart).toBeGreaterThanOrEqual(80);
    expect(publishedBeforeRestart).toBeLessThan(total - 100);
    await publishing;

    const lines = await eventually(async () => {
      const current = await handled(project);
      return new Set(current.map((line) => line.split(' ')[0])).size >= total ? current : undefined;
    }, `all ${total} messages to be handled`, 60_000);
    const stop = await supervisor.ctl('stop', program);
    expect(stop.output).toContain(`${program}: stopped`);

    const ids = lines.map((line) => line.split(' ')[0]!);
    expect(new Set(ids).size).toBe(total);
    expect(ids.length, 'no message was handled twice').toBe(total);
    const pids = new Set(lines.map((line) => line.split(' ')[1]));
    expect(pids.size, 'two worker processes, before and after the restart, handled messages').toBe(2);
    // Both stops were clean: SIGTERM, drain, exit 0, as supervisord saw it.
    const log = await supervisor.log();
    expect(log.match(new RegExp(`stopped: ${program} \\(exit status 0\\)`, 'g'))?.length, log).toBe(2);
    expect(await readFile(workerLog, 'utf8')).toContain('"msg":"worker stopped"');
    expect(await supervisor.state(program)).toBe('STOPPED');
  });

  deployTest('runs the shipped broker program beside the worker: a worker killed with SIGKILL is restarted and every message handled', { timeout: 120_000 }, async ({ projects, resources }) => {
    // The shipped file: the broker first (lower priority starts first, stops last), the worker pointed at it.
    const [shippedBroker, shippedWorker] = [await shippedProgram('nsqworker-broker'), await shippedProgram()];
    expect(shippedBroker.get('command')).toMatch(/\/nsqworker broker --tcp-address 127\.0\.0\.1:4150 --http-address 127\.0\.0\.1:4151 --data-path /);
    expect(shippedWorker.get('environment')).toContain('NSQWORKER_NSQD_TCP_ADDRESSES="127.0.0.1:4150"');
    expect(Number(shippedBroker.get('priority'))).toBeLessThan(Number(shippedWorker.get('priority')));

    const project = await projects.create();
    await project.writeWorker('stream', 'handle', SLOW_STREAM_WORKER);
    const [tcpPort, httpPort] = [await freePort(), await freePort()];
    const tcpAddress = `127.0.0.1:${tcpPort}`;
    const dataPath = await resources.tempDir('nsqworker-supervised-broker-');
    const program = 'nsqworker-stream-handle';
    const supervisor = await supervisorFor(
      resources,
      project,
      program,
      ['--topic', 'stream', '--channel', 'handle'],
      { NSQWORKER_NSQD_TCP_ADDRESSES: tcpAddress, NSQWORKER_NSQD_HTTP_ADDRESSES: `127.0.0.1:${httpPort}`, NSQWORKER_MAX_IN_FLIGHT: '2' },
      { startsecs: '1' },
      ['broker', '--tcp-address', tcpAddress, '--http-address', `127.0.0.1:${httpPort}`, '--data-path', dataPath],
    );
    const workerLog = path.join(supervisor.dir, `${program}.log`);
    await eventually(async () => ((await readFile(workerLog, 'utf8').catch(() => '')).includes('"msg":"subscribed"') ? true : undefined), 'the worker to subscribe', 30_000);

    // The pid first: supervisorctl takes a second or more on a loaded machine, in which the worker
    // (50 ms a message, two at a time) could handle the rest before the kill. A program still in its
    // startsecs is STARTING, which status shows without a pid: a fast start subscribes within it.
    await supervisor.waitForLog(new RegExp(`success: ${program} entered RUNNING state`), `${program} to be RUNNING`, 30_000);
    const [, firstPid] = /pid (\d+)/.exec((await supervisor.ctl('status', program)).output) ?? [];
    expect(firstPid).toBeDefined();
    const total = 100;
    const producer = new Producer({ nsqdTcpAddresses: [tcpAddress] });
    resources.defer(() => producer.close());
    await producer.publishMany('stream', Array.from({ length: total }, (_, i) => `m${i}`));
    await eventually(async () => ((await handled(project)).length >= 10 ? true : undefined), '10 messages to be handled');
    process.kill(Number(firstPid), 'SIGKILL');

    // At least once: what the killed worker had in flight comes again; nothing is lost.
    const lines = await eventually(async () => {
      const current = await handled(project);
      return new Set(current.map((line) => line.split(' ')[0])).size >= total ? current : undefined;
    }, `all ${total} messages to be handled`, 60_000);
    expect(new Set(lines.map((line) => line.split(' ')[0]))).toEqual(new Set(Array.from({ length: total }, (_, i) => `m${i}`)));
    expect(new Set(lines.map((line) => line.split(' ')[1])).size, 'the worker supervisord started again handled the rest').toBe(2);
    expect(await supervisor.state('nsqworker-broker')).toBe('RUNNING');
  });

  deployTest('does not keep restarting a worker that exits with a usage error (2)', { timeout: 120_000 }, async ({ projects, resources }) => {
    const project = await projects.create();
    await project.writeWorker('stream', 'handle', STREAM_WORKER);
    const program = 'nsqworker-bad-flag';
    // One retry, not the shipped three: each waits a second longer than the last, and what is tested
    // is that the shipped exitcodes and startsecs make exit 2 a failed start, so the tries end.
    const startretries = 1;
    const supervisor = await supervisorFor(resources, project, program, ['--topic', 'stream', '--channel', 'handle', '--no-such-flag', '1'], {}, { startretries: String(startretries) });
    // Exit 2 within startsecs is a failed start: retried startretries times, then FATAL. (Should a
    // loaded machine take longer than startsecs to fail, exit 2 is an expected exit: EXITED at once.)
    const settled = new RegExp(`gave up: ${program} entered FATAL state|exited: ${program} \\(exit status 2; expected\\)`);
    await supervisor.waitForLog(settled, `${program} to give up`, 60_000);
    expect(['FATAL', 'EXITED']).toContain(await supervisor.state(program));
    const log = await supervisor.log();
    const spawns = log.match(new RegExp(`spawned: '${program}'`, 'g'))?.length ?? 0;
    expect(spawns, log).toBeGreaterThanOrEqual(1);
    expect(spawns, log).toBeLessThanOrEqual(1 + startretries);
    expect(log).toMatch(new RegExp(`exited: ${program} \\(exit status 2; (not )?expected\\)`));
    expect(await readFile(path.join(supervisor.dir, `${program}.log`), 'utf8')).toContain('unknown flag --no-such-flag');
  });
});
