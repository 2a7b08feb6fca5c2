/**
 * A command that loads the user's worker and exits (a run's --help, list, a flag refused after the
 * worker's options were read) leaves tsx's compile cache whole: tsx writes it after the load, and an
 * exit during that write left an empty file, so every such command compiled the worker again.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, type CliProject } from './helpers/cli-project.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

const WORKER = `
import { z } from 'zod';
import { defineWorker } from 'nsqworker';

export default defineWorker({
  options: z.object({ greeting: z.string().default('hi') }),
  tasks: { async show() {} },
});
`;

/** The size of every file in tsx's cache folder under `tmp` (os.tmpdir()/tsx-<uid>/). */
async function cacheFileSizes(tmp: string): Promise<number[]> {
  const folders = (await readdir(tmp)).filter((name) => name.startsWith('tsx-'));
  const sizes: number[] = [];
  for (const folder of folders) {
    for (const name of await readdir(path.join(tmp, folder))) sizes.push((await stat(path.join(tmp, folder, name))).size);
  }
  return sizes;
}

async function commonJsProject(): Promise<CliProject> {
  const project = await projects.create();
  await project.write('package.json', '{"type":"commonjs"}\n');
  await project.writeWorker('log', 'pageview', WORKER);
  await mkdir(project.path('tmp'));
  return project;
}

describe('a one-shot command in a CommonJS project', () => {
  it.each([
    ['--help', ['--topic', 'log', '--channel', 'pageview', '--help'], 0],
    ['list', ['list'], 0],
    ['a refused flag', ['--topic', 'log', '--channel', 'pageview', '--no-such-flag', '1'], 2],
  ] as const)('%s leaves the compiled worker in tsx\'s cache, not an empty file', async (_name, args, exitCode) => {
    const project = await commonJsProject();
    const tmp = project.path('tmp');
    const result = await project.run(args, { TMPDIR: tmp });
    expect(result.code, result.stderr).toBe(exitCode);
    const sizes = await cacheFileSizes(tmp);
    expect(sizes.length, 'files in the cache').toBeGreaterThan(0);
    expect(sizes.filter((size) => size === 0), 'empty cache files').toEqual([]);
  });
});
