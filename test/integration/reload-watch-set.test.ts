/**
 * What --watch watches is every file a loaded code told of, whichever code it was: after a refused
 * load, the files only the broken code imports stay watched when the running code loads more; a
 * file the new code loads while its swap waits for the old code's tasks is watched once it takes over.
 */
import { describe, expect } from 'vitest';
import { cliTest } from './helpers/cli-test.ts';
import { noopWorker, watchNoopWorker } from './helpers/noop-worker.ts';

/** Says which version handled each message. */
const says = (version: number): string => `console.log(JSON.stringify({ msg: 'version', version: ${version}, id: message.text() }));`;

describe.concurrent('the watched files', () => {
  cliTest('after a refused load, keep the files only the broken code imports while the running code loads more', async ({ projects }) => {
    const project = await projects.create();
    await project.write('lib/later.ts', 'export const later = 1;\n');
    // Message `late` makes version 1 import lib/later.ts.
    const task = ["if (message.text() === 'late') await import('../../lib/later.ts');", says(1)];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task }), ['--log-level', 'debug']);

    // A new helper that does not compile, and the worker importing it: the load is refused.
    await project.write('lib/helper.ts', 'export const HELPER = ;\n');
    const head = ["import { HELPER } from '../../lib/helper.ts';", 'void HELPER;'];
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: [says(2)] }));
    await run.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 'the refused load');

    // The running code imports a file late, and the runner hears of it.
    await publish('late');
    await run.waitForMessage('version', { version: 1, id: 'late' });
    const later = project.path('lib/later.ts');
    await run.waitForLine((line) => line.msg === 'watched files changed' && Array.isArray(line.added) && line.added.includes(later), 'lib/later.ts watched');

    // The fix lands in the helper alone.
    await project.write('lib/helper.ts', 'export const HELPER = 1;\n');
    expect((await run.waitForMessage('worker code reloaded', { reloads: 1 })).reloads).toBe(1);
    await publish('after');
    await run.waitForMessage('version', { version: 2, id: 'after' });
  });

  cliTest('include what a standby loaded on its own before it took over', async ({ projects }) => {
    const project = await projects.create();
    await project.write('workers/log/lazy.ts', 'export const lazy = 1;\n');
    // Version 1 holds message `slow` until the file `release` exists, so the swap to version 2 waits.
    const task = [
      "if (message.text() === 'slow') console.log(JSON.stringify({ msg: 'slow started' }));",
      "while (message.text() === 'slow' && !existsSync('release')) await new Promise((resolve) => setTimeout(resolve, 10));",
    ];
    const { run, publish } = await watchNoopWorker(project, noopWorker({ head: ["import { existsSync } from 'node:fs';"], task }));
    await publish('slow');
    await run.waitForMessage('slow started');

    // Version 2 loads a module of its own accord once set up (a client made lazily, say): in the
    // standby, after its load, while the swap waits for the slow message.
    await project.writeWorker(
      'log',
      'pageview',
      [
        "import { Worker } from 'nsqworker';",
        'export default class Lazy extends Worker {',
        '  constructor() {',
        '    super();',
        "    setTimeout(() => void import('./lazy.ts').then(() => console.log(JSON.stringify({ msg: 'lazy loaded' }))), 0);",
        '  }',
        '  noopTask(): void {}',
        '}',
      ].join('\n'),
    );
    await run.waitForMessage('lazy loaded');
    await project.write('release', '');
    await run.waitForMessage('worker code reloaded', { reloads: 1 });

    await project.write('workers/log/lazy.ts', 'export const lazy = 2;\n');
    expect((await run.waitForMessage('worker code reloaded', { reloads: 2 })).reloads).toBe(2);
  });
  cliTest('in a CommonJS project, a new helper that does not compile is watched: its fix reloads', async ({ projects }) => {
    const project = await projects.create();
    await project.write('package.json', '{"type":"commonjs"}\n');
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task: [says(1)] }));
    await publish('before');
    await run.waitForMessage('version', { version: 1, id: 'before' });

    await project.write('lib/helper.ts', "export const HELPER = 'x;\n");
    const head = ["import { HELPER } from '../../lib/helper';", 'void HELPER;'];
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: [says(2)] }));
    const failed = await run.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 'the refused load');
    expect(String(failed.msg)).toContain('helper.ts');

    // The fix lands in the helper alone.
    await project.write('lib/helper.ts', "export const HELPER = 'x';\n");
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    await publish('after');
    await run.waitForMessage('version', { version: 2, id: 'after' });
  });
  cliTest.for(['module', 'commonjs'])('an import written before its file (in a folder not there yet), "type": "%s": creating the file reloads', async (type, { projects }) => {
    const project = await projects.create();
    await project.write('package.json', `{"type":"${type}"}\n`);
    const { run, publish } = await watchNoopWorker(project, noopWorker({ task: [says(1)] }));
    const head = ["import { EXTRA } from '../../lib/extra';", 'void EXTRA;'];
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: [says(2)] }));
    const failed = await run.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 'the refused load');
    expect(String(failed.msg)).toMatch(/Cannot find module '.*lib\/extra'/);

    await project.write('lib/extra.ts', 'export const EXTRA = 1;\n');
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    await publish('after');
    await run.waitForMessage('version', { version: 2, id: 'after' });
  });
});
