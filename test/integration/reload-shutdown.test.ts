/**
 * Shutdown under --watch while a reload is under way: the swap is given up, the old code finishes
 * its task, the runner exits 0, and no standby starts once shutdown has begun (none would be used);
 * a swap waiting for a task that never ends, and a load that never ends, are given up too, and the
 * messages held at that swap's gate go back to nsqd rather than start on the old code. A runner
 * killed outright leaves no child, even one whose task never lets it hear of that.
 */
import { describe, expect } from 'vitest';
import { brokerStats, eventually } from './helpers/cli-project.ts';
import { cliTest as it } from './helpers/cli-test.ts';
import { isAlive, processTree } from './helpers/reload-fixture.ts';
import { noopWorker, watchNoopWorker } from './helpers/noop-worker.ts';
import { ORPHAN_GRACE_S } from '../../runner/reload/stop-guard.ts';

describe.concurrent('SIGTERM while a swap waits for a running task', () => {
  it('gives the swap up, finishes the task on the old code and starts no standby', async ({ projects }) => {
    const project = await projects.create();
    // Message `slow` holds the old code until the file `release` exists, so the swap waits.
    const task = [
      "if (message.text() === 'slow') console.log(JSON.stringify({ msg: 'slow started' }));",
      "while (message.text() === 'slow' && !existsSync('release')) await new Promise((resolve) => setTimeout(resolve, 10));",
    ];
    const head = ["import { existsSync } from 'node:fs';"];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ head, task }), ['--log-level', 'debug']);
    await publish('slow');
    await run.waitForMessage('slow started');

    // The new code says when it loads: the reload holds the standby pool by then.
    await project.writeWorker('log', 'pageview', noopWorker({ head: [...head, "console.log(JSON.stringify({ msg: 'new code loading' }));"], task }));
    await run.waitForMessage('new code loading');
    run.kill('SIGTERM');
    await run.waitForMessage('shutting down');
    await project.write('release', '');

    expect(await run.waitForExit(15_000), run.describe()).toEqual({ code: 0, signal: null });
    expect(run.lines.find((line) => line.msg === 'handled' && line.id === 'slow')).toBeDefined();
    const shutdown = run.lines.findIndex((line) => line.msg === 'shutting down');
    const started = run.lines.slice(shutdown).filter((line) => line.msg === 'standby worker host starting');
    expect(started, run.describe()).toEqual([]);
    expect(run.lines.filter((line) => line.msg === 'worker code reloaded')).toEqual([]);
  });
});

describe.concurrent('SIGTERM while a swap waits for a task that never ends', () => {
  it('exits once the shutdown timeout has passed, leaving no child behind', async ({ projects }) => {
    const project = await projects.create();
    const task = ["if (message.text() === 'stuck') { console.log(JSON.stringify({ msg: 'stuck started' })); await new Promise(() => {}); }"];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task }), ['--shutdown-timeout', '1s']);
    const runner = run.child.pid!;
    await publish('stuck');
    await run.waitForMessage('stuck started');
    await project.writeWorker('log', 'pageview', noopWorker({ task: ["console.log(JSON.stringify({ msg: 'new code' }));"] }));
    await run.waitForMessage('reload waits for 1 task(s) still running on the old code');
    const children = processTree(runner).filter((pid) => pid !== runner);
    run.kill('SIGTERM');

    expect((await run.waitForExit(15_000)).signal, run.describe()).toBeNull();
    expect(run.lines.filter((line) => line.msg === 'worker code reloaded')).toEqual([]);
    await eventually(async () => (children.every((pid) => !isAlive(pid)) ? true : undefined), 'every child of the runner gone');
  });
});

describe.concurrent('SIGTERM while messages wait at the gate of a swap', () => {
  it('requeues them, with a line each, rather than start their task on the old code', async ({ projects }) => {
    const project = await projects.create();
    const task = ["if (message.text() === 'stuck') { console.log(JSON.stringify({ msg: 'stuck started' })); await new Promise(() => {}); }"];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task }), ['--shutdown-timeout', '1s', '--max-in-flight', '5']);
    const { httpAddress } = await run.brokerAddresses();
    await publish('stuck');
    await run.waitForMessage('stuck started');
    await project.writeWorker('log', 'pageview', noopWorker({ task: ["console.log(JSON.stringify({ msg: 'new code' }));"] }));
    await run.waitForMessage('reload waits for 1 task(s) still running on the old code');
    await publish('held 1');
    await publish('held 2');
    // Delivered, so in flight: with the stuck one, three.
    const inFlight = async (): Promise<number | undefined> => (await brokerStats(httpAddress)).topics.find((topic) => topic.topic_name === 'log')?.channels[0]?.in_flight_count;
    await eventually(async () => ((await inFlight()) === 3 ? true : undefined), 'both messages waiting at the gate');
    run.kill('SIGTERM');

    expect((await run.waitForExit(15_000)).signal, run.describe()).toBeNull();
    expect(run.lines.filter((line) => line.msg === 'handled' || line.msg === 'new code'), run.describe()).toEqual([]);
    const requeued = run.lines.filter((line) => line.msg === 'shutting down: message requeued before its task started');
    expect(requeued, run.describe()).toHaveLength(2);
  });
});

describe.concurrent("SIGKILL of the runner while a task holds its child's event loop", () => {
  it('leaves no child behind: the guard kills it once the grace for exiting on its own has passed', async ({ projects }) => {
    const project = await projects.create();
    // The child never hears its runner is gone: its event loop never turns again.
    const task = ["if (message.text() === 'block') { console.log(JSON.stringify({ msg: 'block started' })); for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); }"];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task }));
    const runner = run.child.pid!;
    await publish('block');
    await run.waitForMessage('block started');
    const children = processTree(runner).filter((pid) => pid !== runner);
    // Should the guard fail, the test still leaves nothing running.
    projects.defer(async () => children.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')));
    run.kill('SIGKILL');
    await run.waitForExit();
    await eventually(async () => (children.every((pid) => !isAlive(pid)) ? true : undefined), 'every child of the runner gone', (ORPHAN_GRACE_S + 10) * 1000);
  });
});

describe.concurrent('SIGTERM while the new code never finishes loading', () => {
  it('gives the load up and exits 0, reporting no failed reload and leaving no child behind', async ({ projects }) => {
    const project = await projects.create();
    const { run } = await watchNoopWorker(project, noopWorker({}), ['--log-level', 'debug']);
    const runner = run.child.pid!;

    // A module that awaits at its top level for ever: its load never ends.
    const head = ["console.log(JSON.stringify({ msg: 'new code loading' }));", 'await new Promise(() => {});'];
    await project.writeWorker('log', 'pageview', noopWorker({ head }));
    await run.waitForMessage('new code loading');
    const children = processTree(runner).filter((pid) => pid !== runner);
    run.kill('SIGTERM');

    expect(await run.waitForExit(15_000), run.describe()).toEqual({ code: 0, signal: null });
    expect(run.lines.filter((line) => line.msg === 'worker code reloaded' || /reload failed/.test(String(line.msg))), run.describe()).toEqual([]);
    await eventually(async () => (children.every((pid) => !isAlive(pid)) ? true : undefined), 'every child of the runner gone');
  });
});
