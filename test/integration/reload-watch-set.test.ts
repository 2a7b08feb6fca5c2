/**
 * What --watch watches is every file a loaded code told of, whichever code it was: after a refused
 * load, the files only the broken code imports stay watched when the running code loads more; a
 * file the new code loads while its swap waits for the old code's tasks is watched once it takes over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, publish, type CliRun } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

/**
 * A worker whose task says which version handled each message; message `late` makes it import
 * lib/later.ts. `prelude` goes after the imports, `taskPrelude` first in the task (`message` in scope).
 */
function worker(version: number, { prelude = '', taskPrelude = '' } = {}): string {
  return [
    "import { defineWorker } from 'nsqworker';",
    prelude,
    'export default defineWorker({',
    '  tasks: {',
    '    async noop(message) {',
    taskPrelude,
    "      if (message.text() === 'late') await import('../../lib/later.ts');",
    `      console.log(JSON.stringify({ msg: 'handled', version: ${version}, id: message.text() }));`,
    '    },',
    '  },',
    '});',
  ].join('\n');
}

/** The runner's debug line that says the watched files changed, once it names `file` as added. */
function watching(run: CliRun, file: string): Promise<unknown> {
  return run.waitForLine((line) => line.msg === 'watched files changed' && Array.isArray(line.added) && line.added.includes(file), `${file} watched`);
}

describe('the watched files', () => {
  it('after a refused load, keep the files only the broken code imports while the running code loads more', async () => {
    const project = await projects.create();
    await project.write('lib/later.ts', 'export const later = 1;\n');
    await project.writeWorker('log', 'pageview', worker(1));
    const run = project.startWorker('log', 'pageview', ['--watch', '--log-level', 'debug']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['noop']);

    // A new helper that does not compile, and the worker importing it: the load is refused.
    await project.write('lib/helper.ts', 'export const HELPER = ;\n');
    await project.writeWorker('log', 'pageview', worker(2, { prelude: "import { HELPER } from '../../lib/helper.ts'; void HELPER;" }));
    await run.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 'the refused load');

    // The running code (version 1) imports a file late, and the runner hears of it.
    await publish(httpAddress, 'log', 'late');
    await run.waitForMessage('handled', { version: 1, id: 'late' });
    await watching(run, project.path('lib/later.ts'));

    // The fix lands in the helper alone.
    await project.write('lib/helper.ts', 'export const HELPER = 1;\n');
    expect((await run.waitForMessage('worker code reloaded', { reloads: 1 })).reloads).toBe(1);
    await publish(httpAddress, 'log', 'after');
    await run.waitForMessage('handled', { version: 2, id: 'after' });
  });

  it('include what a standby loaded on its own before it took over', async () => {
    const project = await projects.create();
    await project.write('workers/log/lazy.ts', 'export const lazy = 1;\n');
    // Version 1 holds message 'slow' until the file 'release' exists, so the swap to version 2 waits.
    await project.writeWorker(
      'log',
      'pageview',
      worker(1, {
        prelude: "import { existsSync } from 'node:fs';",
        taskPrelude: [
          "if (message.text() === 'slow') console.log(JSON.stringify({ msg: 'slow started' }));",
          "while (message.text() === 'slow' && !existsSync('release')) await new Promise((resolve) => setTimeout(resolve, 10));",
        ].join('\n'),
      }),
    );
    const run = project.startWorker('log', 'pageview', ['--watch']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['noop']);
    await publish(httpAddress, 'log', 'slow');
    await run.waitForMessage('slow started');

    // Version 2 loads a module of its own accord once set up (a client made lazily, say): in the
    // standby, after its load, while the swap waits for the slow message.
    await project.writeWorker(
      'log',
      'pageview',
      [
        "import { Worker, type WorkerMessage } from 'nsqworker';",
        'export default class Lazy extends Worker {',
        '  constructor() {',
        '    super();',
        "    setTimeout(() => void import('./lazy.ts').then(() => console.log(JSON.stringify({ msg: 'lazy loaded' }))), 0);",
        '  }',
        '  noopTask(message: WorkerMessage): void {',
        "    console.log(JSON.stringify({ msg: 'handled', version: 2, id: message.text() }));",
        '  }',
        '}',
      ].join('\n'),
    );
    await run.waitForMessage('lazy loaded');
    await project.write('release', '');
    await run.waitForMessage('worker code reloaded', { reloads: 1 });

    await project.write('workers/log/lazy.ts', 'export const lazy = 2;\n');
    expect((await run.waitForMessage('worker code reloaded', { reloads: 2 })).reloads).toBe(2);
  });
});
