/**
 * Under --watch the worker's child is forked at the start, while the runner loads the config, the
 * worker and the broker (runner/commands/first-host.ts): it is the child that then runs the worker,
 * and a run that stops before it could use it leaves neither the child nor its warm-up module.
 */
import { readdirSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { publish } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';
import { commandLine, processTree } from './helpers/reload-fixture.ts';
import { noopWorker } from './helpers/noop-worker.ts';

const FREE = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

/** Pids of the processes whose command line names `dir` (the children's name their warm-up folder in it). */
const processesIn = (dir: string): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && commandLine(Number(entry)).some((arg) => arg.includes(dir)))
    .map(Number);

/** The reload children under `pid`. */
const hostsOf = (pid: number): number[] => processTree(pid).filter((child) => commandLine(child).some((arg) => /reload\/host\.[jt]s$/.test(arg)));

describe.concurrent('the child forked at the start of a --watch run', () => {
  cliTest('runs the worker: the run has that one child, no second', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('log', 'pageview', noopWorker({ task: ["console.log(JSON.stringify({ msg: 'ran', pid: process.pid }));"] }));
    const run = project.startWorker('log', 'pageview', ['--watch']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['noop']);
    await publish(httpAddress, 'log', 'one');
    const ran = await run.waitForMessage('ran');
    expect(hostsOf(run.child.pid!)).toEqual([ran.pid]);
  });

  cliTest('is killed, with its warm-up module removed, when the run is refused: nothing is left', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('log', 'pageview', noopWorker({}));
    const refused = await project.run(['--topic', 'log', '--channel', 'pageview', '--watch', '--max-in-flight', 'lots', ...FREE]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--max-in-flight');
    // The child was forked: it made its warm-up folder in the project's node_modules.
    const warmUps = readdirSync(project.path('node_modules/.cache/nsqworker'));
    // Gone by the time the runner exits, not later by itself.
    expect(processesIn(project.dir)).toEqual([]);
    expect(warmUps).toEqual([]);
  });

  cliTest('is not forked for a run that asks for the version: the version, exit 0, nothing left to hold the exit', async ({ projects }) => {
    const project = await projects.create();
    await project.writeWorker('log', 'pageview', noopWorker({}));
    const [long, short] = await Promise.all([
      project.run(['--topic', 'log', '--channel', 'pageview', '--watch', ...FREE, '--version']),
      project.run(['-v', '--topic', 'log', '--channel', 'pageview', '--watch', ...FREE]),
    ]);
    for (const printed of [long, short]) {
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stdout).toMatch(/^nsqworker\/\d+\.\d+\.\d+ /);
    }
    expect(processesIn(project.dir)).toEqual([]);
  });
});
