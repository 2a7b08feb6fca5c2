/**
 * Saves the watch cannot see, because they land before the runner watches the file: the runner
 * compares such a file with the snapshot the child took as it loaded it. The projects here are
 * CommonJS, where a require() loads a file synchronously, and the worker's own code saves the file
 * right after: the save lands between the child's read and the runner's watch, every time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, type CliProject } from './helpers/cli-project.ts';
import { noopWorker, watchNoopWorker } from './helpers/noop-worker.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const ONE = "export const word: string = 'one';\n";
/** Saves `file` with the word `two` if it says `one`: the save a person makes right after the child read the file. */
const saveTwoIfOne = (file: string): string =>
  `if (word === 'one') writeFileSync(${JSON.stringify(file)}, "export const word: string = 'two';\\n");`;

async function commonJsProject(): Promise<CliProject> {
  const project = await projects.create();
  await project.write('package.json', '{"type":"commonjs"}\n');
  return project;
}

describe('a save before the watch on the file began', () => {
  it('of a file a task loads later, saved right after: the new content is loaded', async () => {
    const project = await commonJsProject();
    await project.write('lib/later.ts', ONE);
    const source = noopWorker({
      head: ["import { writeFileSync } from 'node:fs';"],
      task: [
        "const { word } = require('../../lib/later.ts') as { word: string };",
        'console.log(JSON.stringify({ msg: `later says ${word}` }));',
        saveTwoIfOne('lib/later.ts'),
      ],
    });
    const { run, publish } = await watchNoopWorker(project, source);
    await publish('first');
    await run.waitForMessage('later says one');
    expect((await run.waitForMessage('worker code reloaded', { reloads: 1 })).reloads).toBe(1);
    await publish('second');
    await run.waitForMessage('later says two');
  });

  it('of a file new code imports, saved right after it loaded: the new content is loaded next', async () => {
    const project = await commonJsProject();
    const { run, publish } = await watchNoopWorker(project, noopWorker({}));

    // The new code imports a file the runner has never watched, and saves it as soon as it has.
    await project.write('lib/fresh.ts', ONE);
    const head = ["import { writeFileSync } from 'node:fs';", "import { word } from '../../lib/fresh.ts';", saveTwoIfOne('lib/fresh.ts')];
    await project.writeWorker('log', 'pageview', noopWorker({ head, task: ["console.log(JSON.stringify({ msg: 'fresh says', word }));"] }));
    await run.waitForMessage('worker code reloaded', { reloads: 1 });
    expect((await run.waitForMessage('worker code reloaded', { reloads: 2 })).reloads).toBe(2);
    await publish('after');
    await run.waitForMessage('fresh says', { word: 'two' });
  });
});
