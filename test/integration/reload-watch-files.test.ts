/**
 * --watch watches every project file the worker's module graph loads, wherever it lives: beside the
 * workers folder, in a sibling folder outside the project, and in a project laid out inside this
 * package's own root (as the repository's example workers are), where only the package's compiled
 * code is the package's own; and a file a task loads only later, with import(). node_modules is never watched.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { publish, REPO_ROOT, type CliProject, type CliProjects, type CliRun } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';

function worker(siblingFile: string): string {
  return `
import { defineWorker } from 'nsqworker';
import { version } from '../../lib/version.ts';
import { label } from ${JSON.stringify(siblingFile)};
export default defineWorker({ tasks: { async noop() { void version; void label; } } });
`;
}

async function setUp(projects: CliProjects, parent?: string): Promise<{ project: CliProject; sibling: CliProject; run: CliRun }> {
  const project = await projects.create(parent === undefined ? {} : { parent });
  const sibling = await projects.create();
  await sibling.write('shared/label.ts', "export const label = 'a';\n");
  await project.write('lib/version.ts', "export const version = 1;\n");
  await project.writeWorker('log', 'pageview', worker(sibling.path('shared/label.ts')));
  const run = project.startWorker('log', 'pageview', ['--watch']);
  await run.subscribed(['noop']);
  return { project, sibling, run };
}

async function expectReloadOnChange(run: CliRun, file: string, text: string, reloads: number): Promise<void> {
  await writeFile(file, text);
  const line = await run.waitForMessage('worker code reloaded', { reloads });
  expect(line.reloads).toBe(reloads);
}

describe.concurrent('--watch follows the module graph wherever it goes', () => {
  cliTest('a lib/ file beside workers/ and a file in a sibling folder outside the project', async ({ projects }) => {
    const { project, sibling, run } = await setUp(projects);
    await expectReloadOnChange(run, project.path('lib/version.ts'), 'export const version = 2;\n', 1);
    await expectReloadOnChange(run, sibling.path('shared/label.ts'), "export const label = 'b';\n", 2);
  });

  cliTest("a project inside this package's root: its lib/ file is the project's, not the package's", async ({ projects }) => {
    const { project, run } = await setUp(projects, REPO_ROOT);
    expect(project.dir.startsWith(REPO_ROOT + path.sep)).toBe(true);
    await expectReloadOnChange(run, project.path('lib/version.ts'), 'export const version = 2;\n', 1);
  });

  for (const type of ['module', 'commonjs'] as const) {
    cliTest(`a file a task imports later, with import(), in a "type": "${type}" project`, async ({ projects }) => {
      const project = await projects.create();
      await writeFile(project.path('package.json'), `{"type":"${type}"}\n`);
      await project.write('lib/later.ts', "export const word: string = 'one';\n");
      await project.writeWorker(
        'log',
        'pageview',
        [
          "import { defineWorker } from 'nsqworker';",
          'export default defineWorker({',
          '  tasks: {',
          '    async noop() {',
          "      const { word } = await import('../../lib/later.ts');",
          '      console.log(JSON.stringify({ msg: `later says ${word}` }));',
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
      await expectReloadOnChange(run, project.path('lib/later.ts'), "export const word: string = 'two';\n", 1);
      await publish(httpAddress, 'log', 'second');
      await run.waitForMessage('later says two');
    });
  }
});
