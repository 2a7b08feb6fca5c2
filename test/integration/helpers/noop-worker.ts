/**
 * A one-task worker (topic `log`, channel `pageview`, task `noop`) built from the lines a test
 * gives, and a `--watch` run of it: what the tests of the files --watch watches need.
 */
import { publish, type CliProject, type CliRun } from './cli-project.ts';

export interface NoopWorkerSource {
  /** Lines after `import { defineWorker } from 'nsqworker'`: imports, then module code. */
  head?: readonly string[];
  /** Statements of the task, with `message` in scope; `await` is allowed. */
  task?: readonly string[];
}

/** The worker's source: the task logs `handled` with the message's text as `id` after its own statements. */
export function noopWorker({ head = [], task = [] }: NoopWorkerSource): string {
  return [
    "import { defineWorker } from 'nsqworker';",
    ...head,
    'export default defineWorker({',
    '  tasks: {',
    '    async noop(message) {',
    ...task.map((line) => `      ${line}`),
    "      console.log(JSON.stringify({ msg: 'handled', id: message.text() }));",
    '    },',
    '  },',
    '});',
    '',
  ].join('\n');
}

export interface WatchedNoop {
  run: CliRun;
  /** Publishes a message to the worker's topic. */
  publish(text: string): Promise<void>;
}

/** Writes the worker and runs it under --watch (with `args`), until its task is subscribed. */
export async function watchNoopWorker(project: CliProject, source: string, args: readonly string[] = []): Promise<WatchedNoop> {
  await project.writeWorker('log', 'pageview', source);
  const run = project.startWorker('log', 'pageview', ['--watch', ...args]);
  const { httpAddress } = await run.brokerAddresses();
  await run.subscribed(['noop']);
  return { run, publish: (text) => publish(httpAddress, 'log', text) };
}
