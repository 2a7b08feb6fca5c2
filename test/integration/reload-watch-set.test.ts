/**
 * What --watch watches is every file a loaded code told of, whichever code it was: after a refused
 * load, the files only the broken code imports stay watched when the running code loads more.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, publish, type CliRun } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

/** A worker whose task says which version handled each message; message `late` makes it import lib/later.ts. */
function worker(version: number, prelude = ''): string {
  return [
    "import { defineWorker } from 'nsqworker';",
    prelude,
    'export default defineWorker({',
    '  tasks: {',
    '    async noop(message) {',
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
    await project.writeWorker('log', 'pageview', worker(2, "import { HELPER } from '../../lib/helper.ts'; void HELPER;"));
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
});
