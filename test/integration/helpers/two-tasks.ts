/**
 * A worker with two tasks, `count` and `store`, each appending what it ran to `ran.jsonl`: what the
 * tests of task channels need to see that every task got every message.
 */
import { expect } from 'vitest';
import { eventually, type CliProject, type CliRun } from './cli-project.ts';

export const TWO_TASKS = `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
async function record(message, context) {
  await appendFile('ran.jsonl', JSON.stringify({ task: context.task, body: message.text() }) + '\\n');
}
export default defineWorker({ tasks: { count: record, store: record } });
`;

/** A project with the two-task worker as `workers/<topic>/<topic>_pageview_worker.ts`. */
export async function twoTaskProject(create: () => Promise<CliProject>, topic: string): Promise<CliProject> {
  const p = await create();
  await p.writeWorker(topic, 'pageview', TWO_TASKS);
  return p;
}

/** Waits until each task has run exactly `bodies` (in any order). */
export async function eachTaskRan(p: CliProject, run: CliRun, bodies: string[]): Promise<void> {
  const want = [...bodies].sort();
  const got = await eventually(
    async () => {
      const ran = await p.records<{ task: string; body: string }>('ran.jsonl');
      const of = (task: string): string[] => ran.filter((r) => r.task === task).map((r) => r.body).sort();
      return of('count').length >= want.length && of('store').length >= want.length ? { count: of('count'), store: of('store') } : undefined;
    },
    `both tasks to run ${want.join(', ')}`,
    20_000,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}\nran: ${JSON.stringify(await p.records('ran.jsonl'))}\n${run.describe()}`);
  });
  expect(got).toEqual({ count: want, store: want });
}
