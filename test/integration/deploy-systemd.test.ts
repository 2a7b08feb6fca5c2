/**
 * deploy/nsqworker@.service: systemd-analyze verifies it as an instance (nsqworker@log:pageview)
 * with its paths pointed at a real project; its settings keep the shutdown promises; and its
 * ExecStart, deploy/nsqworker-instance with the instance name, runs the worker it names.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunnerSettingsSchema } from '../../runner/config/settings.ts';
import { parseDurationMs } from '../../protocol/duration.ts';
import { CliProjects, CliRun, REPO_ROOT, type CliProject } from './helpers/cli-project.ts';
import { DeployResources, IN_CI, missingTool } from './deploy-support.ts';

const projects = new CliProjects();
const resources = new DeployResources();
const runs: CliRun[] = [];
afterEach(async () => {
  await Promise.all(
    runs.splice(0).map(async (run) => {
      run.kill('SIGKILL');
      await run.exited;
    }),
  );
  await projects.cleanup();
  await resources.cleanup();
});

const UNIT = path.join(REPO_ROOT, 'deploy/nsqworker@.service');
/** The install prefix the shipped unit names; tests put a fixture project there instead. */
const PREFIX = '/srv/nsqworker';
const missing = missingTool('systemd-analyze', 'systemd');

/** `[Service]` (or another section) of a unit file: key → values, in order (a key may repeat). */
function section(text: string, name: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      current = header[1]!;
      continue;
    }
    if (current !== name) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    entries.set(key, [...(entries.get(key) ?? []), line.slice(eq + 1)]);
  }
  return entries;
}

function only(entries: Map<string, string[]>, key: string): string {
  const values = entries.get(key) ?? [];
  expect(values, key).toHaveLength(1);
  return values[0]!;
}

/** A worker for the unit to run: it only logs. */
const WORKER = `
import { defineWorker } from 'nsqworker';
export default defineWorker({ tasks: { async handle(message, { log }) { log.info({ id: message.id }, 'handled'); } } });
`;

/** Writes the shipped unit, its paths moved into `project`, to a temp folder; `edit` may change its text. */
async function unitCopy(project: CliProject, edit: (text: string) => string = (text) => text): Promise<string> {
  const dir = await resources.tempDir('nsqworker-systemd-');
  const text = (await readFile(UNIT, 'utf8')).replaceAll(PREFIX, project.dir);
  const file = path.join(dir, 'nsqworker@.service');
  await writeFile(file, edit(text));
  return file;
}

/** systemd-analyze verify of the template as one of its instances (FILE:ALIAS names the instance). */
function verify(file: string, instance: string): { code: number | null; output: string } {
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', `${file}:nsqworker@${instance}.service`], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** Runs the unit's ExecStart for `instance` the way systemd would: in WorkingDirectory, with the environment given. */
function execStart(project: CliProject, service: Map<string, string[]>, instance: string, env: Record<string, string>): CliRun {
  const [command, ...args] = only(service, 'ExecStart').replaceAll(PREFIX, project.dir).split(' ').map((word) => word.replaceAll('%i', instance));
  const childEnv: NodeJS.ProcessEnv = { NODE: process.execPath, PATH: process.env.PATH, ...env };
  const child = spawn(command!, args, { cwd: only(service, 'WorkingDirectory').replaceAll(PREFIX, project.dir), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = new CliRun(child);
  runs.push(run);
  return run;
}

/** The embedded broker on free ports inside the project, through NSQWORKER_* as an EnvironmentFile would set them. */
const EMBEDDED_ENV = {
  NSQWORKER_BROKER_TCP_ADDRESS: '127.0.0.1:0',
  NSQWORKER_BROKER_HTTP_ADDRESS: '127.0.0.1:0',
  NSQWORKER_DATA_PATH: 'data',
};

describe('deploy/nsqworker@.service', () => {
  it('keeps the shutdown promises: SIGTERM, a stop timeout above the shutdown timeout, no restart on exit 2', async () => {
    const text = await readFile(UNIT, 'utf8');
    const service = section(text, 'Service');
    expect(only(service, 'Restart')).toBe('on-failure');
    expect(only(service, 'RestartPreventExitStatus')).toBe('2');
    expect(only(service, 'KillSignal')).toBe('SIGTERM');
    expect(only(service, 'KillMode')).toBe('mixed');
    const stopMs = parseDurationMs(only(service, 'TimeoutStopSec') + 's');
    const shutdownMs = RunnerSettingsSchema.parse({}).shutdownTimeoutMs;
    expect(stopMs).toBeGreaterThan(shutdownMs);
    expect(service.get('EnvironmentFile')).toContain(`-/etc/nsqworker/%i.env`);
    expect(only(service, 'StandardOutput')).toBe('journal');
    expect(only(service, 'User')).toBe('nsqworker');
    expect(only(service, 'WorkingDirectory')).toBe(PREFIX);
    expect(only(service, 'ExecStart')).toBe(`${PREFIX}/node_modules/nsqworker/deploy/nsqworker-instance %i`);
  });

  it('runs the worker its instance names, and stops it with exit 0 on SIGTERM', async () => {
    const project = await projects.create();
    await project.writeWorker('user-events', 'signup', WORKER);
    const service = section(await readFile(UNIT, 'utf8'), 'Service');
    // As typed (systemctl start nsqworker@user-events:signup) and as systemd-escape writes it.
    for (const instance of ['user-events:signup', 'user\\x2devents:signup']) {
      const run = execStart(project, service, instance, EMBEDDED_ENV);
      await run.waitForMessage('worker user-events/signup running', { topic: 'user-events' });
      await run.subscribed(['handle']);
      run.kill('SIGTERM');
      expect(await run.waitForExit(), run.describe()).toEqual({ code: 0, signal: null });
      expect(run.lines.some((line) => line.msg === 'worker stopped')).toBe(true);
    }
  });

  it('exits 2 (no restart) for an instance that is not TOPIC:CHANNEL or names no worker', async () => {
    const project = await projects.create();
    await project.writeWorker('user-events', 'signup', WORKER);
    const service = section(await readFile(UNIT, 'utf8'), 'Service');
    const noColon = execStart(project, service, 'user-events', EMBEDDED_ENV);
    expect(await noColon.waitForExit()).toEqual({ code: 2, signal: null });
    expect(noColon.stderr).toContain('is not TOPIC:CHANNEL');
    const noWorker = execStart(project, service, 'user-events:nope', EMBEDDED_ENV);
    expect(await noWorker.waitForExit()).toEqual({ code: 2, signal: null });
    expect(noWorker.stderr).toContain('no worker for topic user-events channel nope');
  });

  describe.skipIf(missing !== undefined && !IN_CI)(`systemd-analyze verify${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
    it('has systemd-analyze installed', () => {
      expect(missing, 'under CI the deploy tests must run: .ci/run installs systemd').toBeUndefined();
    });

    it('passes for nsqworker@log:pageview.service with its paths in a real project', async () => {
      const project = await projects.create();
      const file = await unitCopy(project);
      const result = verify(file, 'log:pageview');
      expect(result.output).toBe('');
      expect(result.code).toBe(0);
    });

    it('fails for a unit whose ExecStart does not exist or whose settings do not parse (the check can fail)', async () => {
      const project = await projects.create();
      const noCommand = await unitCopy(project, (text) => text.replace(/^ExecStart=.*$/m, (line) => line.replace('deploy/nsqworker-instance', 'deploy/no-such-wrapper')));
      const missingCommand = verify(noCommand, 'log:pageview');
      expect(missingCommand.code).not.toBe(0);
      expect(missingCommand.output).toContain('no-such-wrapper');
      const badRestart = await unitCopy(project, (text) => text.replace(/^Restart=on-failure$/m, 'Restart=sometimes'));
      expect(verify(badRestart, 'log:pageview').output).toContain('Failed to parse service restart specifier');
    });
  });
});
