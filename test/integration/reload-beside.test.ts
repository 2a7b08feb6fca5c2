/**
 * A save loads beside the running code in its child (load-placement.ts), and the code moves to a
 * fresh child once the saves pause. What that must not cost: a refused load retried for ever (or in a
 * fresh child, when it does not compile), a load refused for what the old code left in its child (a registry of the process), new messages
 * held behind a long task for a move nobody asked for, and the running code's later import()s
 * taking the files of a load that was refused.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect } from 'vitest';
import { MOVE_AFTER_QUIET_MS } from '../../runner/reload/load-placement.ts';
import { eventually } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';
import { noopWorker, watchNoopWorker } from './helpers/noop-worker.ts';

const says = (version: number): string => `console.log(JSON.stringify({ msg: 'version', version, id: message.text(), pid: process.pid }));`.replace('version,', `version: ${version},`);

describe.concurrent('a save loaded beside the running code', () => {
  cliTest('refused, is said once, and neither retried nor moved until the next good save', async ({ projects }) => {
    const project = await projects.create();
    await project.write('lib/helper.ts', 'export const helper = 1;\n');
    const head = ["import { helper } from '../../lib/helper.ts';", 'void helper;'];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ head, task: [says(1)] }), ['--log-level', 'debug']);
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: [says(2)] }));
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    // Within the pause that would move version 2, a helper that does not compile.
    await project.write('lib/helper.ts', 'export const helper = ;\n');
    const refused = await run.waitForLine((line) => String(line.msg).startsWith('reload failed'), 'the refused load');
    // Twice the pause after which a move comes: no second report, no move of the running code.
    await delay(2 * MOVE_AFTER_QUIET_MS + 500);
    const since = run.lines.slice(run.lines.indexOf(refused));
    expect(since.filter((line) => String(line.msg).startsWith('reload failed'))).toHaveLength(1);
    expect(since.filter((line) => line.msg === 'worker code moved to a fresh worker host')).toEqual([]);
    // Code that does not compile fails the same in any child: not tried in a fresh one before it is said.
    expect(run.lines.filter((line) => String(line.msg).includes('trying a fresh worker host'))).toEqual([]);
    await publish('still-2');
    await run.waitForMessage('version', { version: 2, id: 'still-2' });
    await project.write('lib/helper.ts', 'export const helper = 2;\n');
    await run.waitForMessage('worker code reloaded', { reloads: 2 });
    await publish('after-fix');
    await run.waitForMessage('version', { version: 2, id: 'after-fix' });
  });

  cliTest("refused for what the old code left in its child, loads in a fresh child, and so do later saves, each taking over", async ({ projects }) => {
    const project = await projects.create();
    // A registry of the process, as prom-client's or an ORM's: a name registered twice throws.
    await project.write(
      'lib/metrics.ts',
      [
        'const names = ((globalThis as { registered?: Set<string> }).registered ??= new Set<string>());',
        "if (names.has('jobs_total')) throw new Error('A metric with the name jobs_total has already been registered.');",
        "names.add('jobs_total');",
        'export const metric = 1;',
      ].join('\n'),
    );
    const head = ["import { metric } from '../../lib/metrics.ts';", 'void metric;'];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ head, task: [says(1)] }));
    await publish('first');
    const first = await run.waitForMessage('version', { version: 1, id: 'first' });
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: [says(2)] }));
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    await publish('second');
    const second = await run.waitForMessage('version', { version: 2, id: 'second' });
    expect(second.pid).not.toBe(first.pid);
    // Said once, and the next save goes to a fresh child without trying beside first.
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: [says(3)] }));
    await run.waitForMessage('worker code reloaded', { reloads: 2 });
    await publish('third');
    const third = await run.waitForMessage('version', { version: 3, id: 'third' });
    expect(third.pid).not.toBe(second.pid);

    // A save while each load in a fresh child runs: each still takes over, where giving way to the
    // next save (as a load beside the running code does) would leave the old code running for as
    // long as the saves come, each a child's start-up apart.
    for (let version = 4; version <= 7; version++) {
      const loading = `console.log(JSON.stringify({ msg: 'loading', version: ${version} }));`;
      await project.writeWorker('log', 'pageview', noopWorker({ head: [...head, loading], task: [says(version)] }));
      await run.waitForMessage('loading', { version });
    }
    await run.waitForMessage('worker code reloaded', { reloads: 6 });
    expect(run.lines.filter((line) => String(line.msg).startsWith('reload failed'))).toEqual([]);
    expect(run.lines.filter((line) => String(line.msg).startsWith('the worker code did not load beside'))).toHaveLength(1);
  });

  cliTest('moves no code while a long task runs: new messages go on being handled', async ({ projects }) => {
    const project = await projects.create();
    const head = ["import { existsSync } from 'node:fs';"];
    const task = (version: number): string[] => [
      "if (message.text() === 'slow') console.log(JSON.stringify({ msg: 'slow started' }));",
      "while (message.text() === 'slow' && !existsSync('release')) await new Promise((resolve) => setTimeout(resolve, 10));",
      says(version),
    ];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ head, task: task(1) }), ['--max-in-flight', '5', '--log-level', 'debug']);
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: task(2) }));
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    await publish('slow');
    await run.waitForMessage('slow started');
    // The pause after which the code would move has passed, the slow task running: a message now is handled at once.
    expect(await run.waitForMessage('worker code not moved yet')).toMatchObject({ running: 1 });
    await publish('fast');
    const fast = await run.waitForMessage('version', { version: 2, id: 'fast' }, 5_000);
    expect(run.lines.some((line) => line.msg === 'version' && line.id === 'slow'), 'the slow task still runs').toBe(false);
    await project.write('release', '');
    await run.waitForMessage('version', { version: 2, id: 'slow' });
    // Once it is done, the code moves.
    let probe = 0;
    await eventually(async () => {
      const id = `after-${probe++}`;
      await publish(id);
      const line = await run.waitForMessage('version', { id });
      return line.pid !== fast.pid ? true : undefined;
    }, 'a message handled in a fresh child');
  });

  cliTest('refused, leaves the running code importing its own files with import()', async ({ projects }) => {
    const project = await projects.create();
    await project.write('lib/dyn.ts', "export const dyn = 'dyn-1';\n");
    const task = ["const { dyn } = await import('../../lib/dyn.ts');", "console.log(JSON.stringify({ msg: 'dyn', dyn, id: message.text() }));"];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task }));
    await publish('first');
    await run.waitForMessage('dyn', { dyn: 'dyn-1', id: 'first' });
    // The worker saved broken, then dyn.ts changed: each reload is refused, so the running code
    // stays, with its own dyn.ts.
    const refusals = (): number => run.lines.filter((line) => String(line.msg).startsWith('reload failed')).length;
    await project.writeWorker('log', 'pageview', noopWorker({ task: [...task, 'const = 1;'] }));
    await eventually(() => (refusals() === 1 ? true : undefined), 'the first refused load');
    await project.write('lib/dyn.ts', "export const dyn = 'dyn-2';\n");
    await eventually(() => (refusals() === 2 ? true : undefined), 'the second refused load');
    await publish('second');
    expect(await run.waitForMessage('dyn', { id: 'second' })).toMatchObject({ dyn: 'dyn-1' });
  });
});
