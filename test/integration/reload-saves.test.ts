/**
 * Saves that come faster than reloads, black-box: saves back to back end with the last one's code
 * running, with no failure reported for a file caught half-written and no message handled by older
 * code after it; a save split by a pause (the file emptied, then written) makes one reload and no
 * failure; a save that lands while a swap waits for a running task is applied after that swap, and
 * the task finishes, once, on the code that took it. A worker file removed is no failed reload: the
 * running code stays, and the file written back reloads.
 */
import { rm, truncate, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect } from 'vitest';
import { eventually, publish } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';
import { CHANNEL, TOPIC, WATCH_ARGS, WORKER_FILE, handle, handledBy, reloaded, startWatched, workerSource, writeReloadProject, type Closed, type Handled } from './helpers/reload-fixture.ts';

/** Module evaluation of each version, recorded: when it is there, that version has loaded in a child. */
const LOADED_MARKER = `appendFileSync('loaded.jsonl', JSON.stringify({ version: VERSION }) + '\\n');`;

describe.concurrent('saves faster than reloads', () => {
  cliTest('saves back to back end with the last content running, and nothing older runs after it', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    const LAST = 9;
    for (let version = 2; version <= LAST; version++) await project.write(WORKER_FILE, workerSource({ version }));

    const first = await handledBy(watched, LAST);
    const handled = await project.records<Handled>('handled.jsonl');
    const after = handled.slice(handled.findIndex((record) => record.id === first.id));
    expect(after.filter((record) => record.version !== LAST)).toEqual([]);
    expect(run.lines.filter((line) => String(line.msg).startsWith('reload failed'))).toEqual([]);
  });

  cliTest('code that loaded but was saved again meanwhile never takes over, no task running: the newer save does', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    // Version 2 saves version 3 as it loads: its load succeeds, and a newer save has come since.
    const saveNewer = `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(WORKER_FILE)}, ${JSON.stringify(workerSource({ version: 3 }))});`;
    await project.write(WORKER_FILE, workerSource({ version: 2, prelude: saveNewer }));

    // The first reload is version 3's: a message published now finds it.
    await reloaded(run, 1);
    expect(await handle(watched, 'after-the-first-reload')).toMatchObject({ version: 3 });
    expect(run.lines.filter((line) => line.msg === 'worker code reloaded'), run.describe()).toHaveLength(1);
    // What version 2 started is closed: its close hook ran as version 3 loaded.
    await eventually(async () => ((await project.records<Closed>('closed.jsonl')).some((record) => record.version === 2) ? true : undefined), 'version 2 closed');
    expect(run.lines.filter((line) => Number(line.level) >= 50), run.describe()).toEqual([]);
  });

  cliTest('a worker file removed keeps the running code, with a warning and no failure; written back, it reloads', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    await rm(project.path(WORKER_FILE));
    const removed = await run.waitForMessage('worker file removed: the running code stays in place until the file is back');
    expect(removed.level).toBe(40);
    expect((await handle(watched, 'while-removed')).version).toBe(1);
    await project.write(WORKER_FILE, workerSource({ version: 2 }));
    await reloaded(run, 1);
    expect((await handledBy(watched, 2)).version).toBe(2);
    expect(run.lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });

  cliTest('a save split by a pause, the file emptied and then written, makes one reload and no failure', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    const file = project.path(WORKER_FILE);
    await truncate(file);
    // The writer held up between the two calls of its save (a formatter starting, a busy machine).
    await delay(400);
    await writeFile(file, workerSource({ version: 2 }));
    await reloaded(run, 1);
    expect(await handle(watched, 'after-the-split-save')).toMatchObject({ version: 2 });
    // A second reload of that save would take this number, and version 2 would answer.
    await project.write(WORKER_FILE, workerSource({ version: 3 }));
    await reloaded(run, 2);
    expect(await handle(watched, 'after-the-next-save')).toMatchObject({ version: 3 });
    expect(run.lines.filter((line) => String(line.msg).startsWith('reload failed'))).toEqual([]);
  });

  cliTest('the first save while a task holds its event loop loads beside it once it ends, and says why it waits', async ({ projects }) => {
    // The slow task is in the code the run starts with: the save below is its first.
    const project = await projects.create();
    await writeReloadProject(project);
    const taskPrelude = `if (message.text() === 'slow') { appendFileSync('slow.jsonl', '{}\\n'); while (!existsSync('release')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); }`;
    const source = (version: number): string => workerSource({ version, prelude: `import { existsSync } from 'node:fs';`, taskPrelude });
    await project.write(WORKER_FILE, source(1));
    const run = project.startWorker(TOPIC, CHANNEL, WATCH_ARGS);
    const watched = { project, run, ...(await run.brokerAddresses()) };
    await run.subscribed(['apply']);
    await publish(watched.httpAddress, TOPIC, 'slow');
    await eventually(async () => ((await project.records('slow.jsonl')).length > 0 ? true : undefined), 'the slow task to start');

    // No standby before the first save: the new code loads beside the slow task, and waits for it.
    await project.write(WORKER_FILE, source(2));
    expect(await run.waitForMessage('reload waits for 1 task(s) still running on the old code, beside which it loads')).toMatchObject({ running: 1 });
    await project.write('release', '');
    expect(await handledBy(watched, 2)).toMatchObject({ version: 2 });
  });

  cliTest('a save while a swap waits for a running task: that swap completes, then the save applies', async ({ projects }) => {
    const watched = await startWatched(projects, ['--log-level', 'debug']);
    const { project, run } = watched;
    // The task of 'slow' holds its child until the file 'release' exists (looking every 20 ms, without
    // spinning); every task says when it starts.
    const taskPrelude = [
      `appendFileSync('started.jsonl', JSON.stringify({ id: message.text() }) + '\\n');`,
      `if (message.text() === 'slow') while (!existsSync('release')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);`,
    ].join(' ');
    const prelude = `import { existsSync } from 'node:fs'; ${LOADED_MARKER}`;
    const source = (version: number): string => workerSource({ version, prelude, taskPrelude });
    await project.write(WORKER_FILE, source(2));
    await reloaded(run, 1);

    await publish(watched.httpAddress, TOPIC, 'slow');
    await eventually(async () => ((await project.records<{ id: string }>('started.jsonl')).some((record) => record.id === 'slow') ? true : undefined), 'the slow task to start');
    // The slow task holds its child's event loop: version 3 loads in a warm standby (none moves the
    // code while a task runs), where a load beside the slow task would wait for it, unseen.
    const count = (msg: string): number => run.lines.filter((line) => line.msg === msg).length;
    const starting = (): number => count('standby worker host starting');
    await eventually(() => (starting() > 0 && count('standby worker host warm') === starting() ? true : undefined), 'the standby warm');
    await project.write(WORKER_FILE, source(3));
    // Version 3 has loaded in a standby: its swap now waits for the slow task.
    await eventually(async () => ((await project.records<{ version: number }>('loaded.jsonl')).some((record) => record.version === 3) ? true : undefined), 'version 3 loaded');
    await project.write(WORKER_FILE, source(4));
    // Held past a second, the swap says what it waits for.
    expect(await run.waitForMessage('reload waits for 1 task(s) still running on the old code; new messages wait too')).toMatchObject({ level: 30, running: 1 });
    await project.write('release', '');

    expect(await handledBy(watched, 4)).toMatchObject({ version: 4 });
    const slow = (await project.records<Handled>('handled.jsonl')).filter((record) => record.id === 'slow');
    expect(slow, 'the slow task ran once, on the code that took it').toEqual([expect.objectContaining({ version: 2 })]);
    // Version 3 took over in between: its close hook ran when version 4 replaced it.
    const closed = await eventually(async () => {
      const records = await project.records<Closed>('closed.jsonl');
      return records.length >= 3 ? records : undefined;
    }, 'the close hooks of versions 1 to 3');
    expect(closed.map((record) => record.version)).toEqual([1, 2, 3]);
    expect(run.lines.filter((line) => String(line.msg).startsWith('reload failed'))).toEqual([]);
  });
});

describe.concurrent('a save while the swap waits for a task that never ends', () => {
  cliTest('is told so, not left without a word', async ({ projects }) => {
    const p = await projects.create();
    const hanging = (version: number): string => `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async hang(_message, context) {
      context.log.info({ version: ${version} }, 'task started');
      await new Promise(() => {});
    },
  },
});
`;
    await p.writeWorker('slow', 'c', hanging(1));
    const run = p.startWorker('slow', 'c', ['--watch', '--shutdown-timeout', '200ms']);
    const { httpAddress } = await run.brokerAddresses();
    await run.subscribed(['hang']);
    await publish(httpAddress, 'slow', 'x');
    await run.waitForMessage('task started');
    await p.writeWorker('slow', 'c', hanging(2));
    await run.waitForMessage('reload waits for 1 task(s) still running on the old code; new messages wait too');
    await p.writeWorker('slow', 'c', hanging(3));
    await run.waitForMessage('saved again: the reload still waits for 1 task(s) on the old code, then loads this save; a task that never ends holds it until the worker stops');
    run.kill('SIGTERM');
    expect((await run.waitForExit()).code).toBe(0);
  });
});
