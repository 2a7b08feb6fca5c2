/**
 * Saves the watch cannot see, because they land before the runner watches the file: the runner
 * compares such a file with the snapshot the child took as it loaded it. The projects here are
 * CommonJS, where a require() loads a file synchronously, and the worker's own code saves the file
 * right after: the save lands between the child's read and the runner's watch, every time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, publish, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

async function commonJsProject(): Promise<CliProject> {
  const project = await projects.create();
  await project.write('package.json', '{"type":"commonjs"}\n');
  return project;
}

describe('a save before the watch on the file began', () => {
  it('of a file a task loads later, saved right after: the new content is loaded', async () => {
    const project = await commonJsProject();
    await project.write('lib/later.ts', "export const word: string = 'one';\n");
    await project.writeWorker(
      'log',
      'pageview',
      [
        "import { writeFileSync } from 'node:fs';",
        "import { defineWorker } from 'nsqworker';",
        'export default defineWorker({',
        '  tasks: {',
        '    async noop() {',
        "      const { word } = require('../../lib/later.ts') as { word: string };",
        '      console.log(JSON.stringify({ msg: `later says ${word}` }));',
        "      if (word === 'one') writeFileSync('lib/later.ts', \"export const word: string = 'two';\\n\");",
        '    },',
        '  },',
        '});',
      ].join('\n'),
    );
    const run = project.startWorker('log', 'pageview', ['--watch']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['noop']);
    await publish(httpAddress, 'log', 'first');
    await run.waitForMessage('later says one');
    expect((await run.waitForMessage('worker code reloaded', { reloads: 1 })).reloads).toBe(1);
    await publish(httpAddress, 'log', 'second');
    await run.waitForMessage('later says two');
  });
});
