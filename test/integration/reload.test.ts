/**
 * Hot reload, black-box: `nsqworker --topic T --channel C --watch` in a throwaway project. A save of
 * the worker, of a helper it imports, or of the config file swaps in the new code for the next
 * message (loaded beside the old code in its child, then moved to a fresh child once the saves
 * pause); a broken edit keeps the old code and logs the file, line and reason; the old code's
 * close hook runs; reloads under a steady publish load handle every message exactly once; SIGTERM
 * exits 0 and leaves no child process behind.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { brokerStats, eventually, publish } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';
import {
  CHANNEL,
  commandLine,
  CONFIG_FILE,
  HELPER_FILE,
  TOPIC,
  WORKER_FILE,
  configSource,
  handle,
  handledBy,
  helperSource,
  isAlive,
  labelLine,
  preludeLine,
  processTree,
  reloaded,
  reloadFailed,
  startWatched,
  WATCH_ARGS,
  workerSource,
  writeReloadProject,
  type Closed,
  type Handled,
} from './helpers/reload-fixture.ts';

describe.concurrent('a save reloads the code', () => {
  cliTest('switches from version 1 to version 2 on the next message, runs the old code close hook, and moves to a fresh child once the saves pause', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    const before = await handle(watched, 'm1');
    expect(before).toMatchObject({ version: 1, tag: 'h1', label: 'a' });

    await project.write(WORKER_FILE, workerSource({ version: 2 }));
    const line = await reloaded(run, 1);
    expect(line.durationMs).toEqual(expect.any(Number));
    expect(await handle(watched, 'm2')).toMatchObject({ version: 2 });

    // The old code released what it held before it was dropped.
    const closedFirst = await eventually(async () => {
      const records = await project.records<Closed>('closed.jsonl');
      return records.length > 0 ? records : undefined;
    }, 'the close hook of version 1');
    expect(closedFirst).toEqual([{ version: 1, pid: before.pid }]);

    // Loaded beside version 1 in its child, version 2 moves to a fresh one once the saves pause:
    // the old child runs its close hook and exits, and with it whatever version 1's module left
    // running. No reload is counted for the move.
    let probes = 0;
    const moved = await eventually(async () => {
      const record = await handle(watched, `after-${probes++}`);
      return record.pid === before.pid ? undefined : record;
    }, 'a message handled in a fresh child');
    expect(moved).toMatchObject({ version: 2 });
    await eventually(() => (isAlive(before.pid) ? undefined : true), 'the old child to exit');
    expect(await project.records<Closed>('closed.jsonl')).toEqual([
      { version: 1, pid: before.pid },
      { version: 2, pid: before.pid },
    ]);
    expect(run.lines.filter((logged) => logged.msg === 'worker code reloaded')).toHaveLength(1);
  });

  cliTest('watches a helper module the worker imports, and the config file', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    expect(await handle(watched, 'm1')).toMatchObject({ tag: 'h1', label: 'a' });

    await project.write(HELPER_FILE, helperSource('h2'));
    await reloaded(run, 1);
    expect(await handle(watched, 'm2')).toMatchObject({ version: 1, tag: 'h2', label: 'a' });

    await project.write(CONFIG_FILE, configSource('b'));
    await reloaded(run, 2);
    expect(await handle(watched, 'm3')).toMatchObject({ version: 1, tag: 'h2', label: 'b' });
  });
});

describe.concurrent('saves that replace the file', () => {
  cliTest('reloads on every save of an editor that writes the file, then renames a new copy over it', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project } = watched;
    const file = project.path(WORKER_FILE);
    for (let version = 2; version <= 4; version++) {
      const source = workerSource({ version });
      // The pattern that lost chokidar's watch of the file itself: an in-place write, and a few
      // milliseconds later a new inode renamed over it (vim's backup dance, sed -i, atomic saves).
      await writeFile(file, source);
      await delay(3);
      await writeFile(`${file}.tmp`, source);
      await rename(`${file}.tmp`, file);
      // A save may make one reload or two: wait for the version, not for a count of reloads.
      expect(await handledBy(watched, version)).toMatchObject({ version });
    }
  });
});

describe.concurrent('a broken edit', () => {
  cliTest('keeps version 1 running and logs file, line and reason for each kind, then a good save reloads', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    const workerPath = project.path(WORKER_FILE);
    await handle(watched, 'm0');

    const broken = [
      { prelude: 'const broken = ;', line: preludeLine, reason: /syntax error/ },
      { prelude: `throw new Error('cannot start: no database');`, line: preludeLine, reason: /cannot start: no database/ },
      // The config says label: 'a'; the schema now wants a number.
      { prelude: '', labelSchema: 'z.number()', line: labelLine, reason: /label "a": expected a number/ },
    ];
    for (const [index, edit] of broken.entries()) {
      await project.write(WORKER_FILE, workerSource({ version: 2, ...edit }));
      const failure = await reloadFailed(run, index + 1);
      expect(failure.level, 'logged at error level').toBe(50);
      expect(failure).toMatchObject({ file: workerPath, line: edit.line });
      expect(String(failure.reason)).toMatch(edit.reason);
      expect(failure.msg).toContain(`${workerPath}:${edit.line}`);
      // File, line and reason say it all; the error and its stack are logged only at debug.
      expect(failure.err).toBeUndefined();
      // The old code still handles messages.
      expect(await handle(watched, `during-${index}`)).toMatchObject({ version: 1 });
    }
    expect(run.lines.filter((line) => line.msg === 'worker code reloaded')).toEqual([]);

    await project.write(WORKER_FILE, workerSource({ version: 2 }));
    await reloaded(run, 1);
    expect(await handle(watched, 'fixed')).toMatchObject({ version: 2 });

    // A new helper that does not compile: the failure names it, and fixing the helper alone reloads.
    await project.write('workers/edits/extra.ts', 'export const EXTRA = ;\n');
    await project.write(WORKER_FILE, workerSource({ version: 3, prelude: `import { EXTRA } from './extra.ts'; void EXTRA;` }));
    expect(await reloadFailed(run, 4)).toMatchObject({ file: project.path('workers/edits/extra.ts'), line: 1 });
    await project.write('workers/edits/extra.ts', 'export const EXTRA = 1;\n');
    await reloaded(run, 2);
    expect(await handle(watched, 'helper-fixed')).toMatchObject({ version: 3 });
    // Six reloads, one of them in a fresh child: 20 to 28 s under .ci/run, against vitest's 30 s.
  }, 60_000);
});

describe.concurrent('reloads under load', () => {
  cliTest('handles every message exactly once across 10 reloads during a steady publish', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run, tcpAddress } = watched;
    const producer = new Producer({ nsqdTcpAddresses: [tcpAddress], closeTimeoutMs: 1000 });
    projects.defer(() => producer.close());

    const acked: string[] = [];
    const failed: unknown[] = [];
    let seq = 0;
    let publishing = true;
    // About 200 messages a second, one at a time, so the load is steady through every reload.
    const pacer = setInterval(() => {
      if (!publishing) return;
      const id = `n${seq++}`;
      producer.publish(TOPIC, id).then(
        () => acked.push(id),
        (error: unknown) => failed.push(error),
      );
    }, 5);
    projects.defer(async () => clearInterval(pacer));

    const RELOADS = 10;
    for (let version = 2; version <= RELOADS + 1; version++) {
      // Messages between every two reloads, however fast a reload is.
      await eventually(() => (acked.length >= 25 * (version - 1) ? true : undefined), `${25 * (version - 1)} messages published`);
      await project.write(WORKER_FILE, workerSource({ version }));
      await reloaded(run, version - 1);
    }
    publishing = false;
    clearInterval(pacer);
    await eventually(() => (acked.length + failed.length === seq ? true : undefined), 'every publish to be answered');
    expect(failed).toEqual([]);
    expect(acked.length).toBeGreaterThan(200);

    const ids = new Set(acked);
    const records = await eventually(async () => {
      const handled = await project.records<Handled>('handled.jsonl');
      const seen = new Set(handled.map((record) => record.id));
      return [...ids].every((id) => seen.has(id)) ? handled : undefined;
    }, 'every published message to be handled');
    // Nothing left in flight, deferred or queued that could still be handled a second time.
    await eventually(async () => {
      const channel = (await brokerStats(watched.httpAddress)).topics.find((t) => t.topic_name === TOPIC)?.channels.find((c) => c.channel_name === CHANNEL);
      return channel !== undefined && channel.depth === 0 && channel.in_flight_count === 0 && channel.deferred_count === 0 ? true : undefined;
    }, 'the channel to drain');
    const all = await project.records<Handled>('handled.jsonl');
    expect(all.length).toBeGreaterThanOrEqual(records.length);
    const counts = new Map<string, number>();
    for (const record of all) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
    expect([...counts].filter(([, count]) => count > 1), 'messages handled twice').toEqual([]);
    expect([...counts.keys()].filter((id) => !ids.has(id)), 'messages never published').toEqual([]);
    expect(counts.size).toBe(ids.size);

    // Messages went to more than one version, and every version replaced ran its close hook (a
    // version moved to a fresh child once the saves paused ran it there too, so may say so twice).
    const versions = new Set(all.map((record) => record.version));
    expect(versions.size).toBeGreaterThan(1);
    const replaced = Array.from({ length: RELOADS }, (_, i) => i + 1);
    const closedVersions = await eventually(async () => {
      const closed = new Set((await project.records<Closed>('closed.jsonl')).map((record) => record.version));
      return replaced.every((version) => closed.has(version)) ? closed : undefined;
    }, 'every replaced version to run its close hook');
    expect([...closedVersions].sort((a, b) => a - b)).toEqual(replaced);
  });
});

describe.concurrent('a crash of the worker code', () => {
  cliTest('loads the code again in a new child, and the message is handled on its next attempt', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    await project.write(
      WORKER_FILE,
      workerSource({
        version: 2,
        taskPrelude: `if (message.text() === 'crash' && message.attempts === 1) process.exit(3); if (message.text() === 'forget' && message.attempts === 1) Promise.reject(new Error('forgotten in a task'));`,
      }),
    );
    await reloaded(run, 1);
    const before = await handle(watched, 'm1');

    await publish(watched.httpAddress, TOPIC, 'crash');
    const exit = await run.waitForMessage('worker host exited unexpectedly');
    // The child's pid has a name of its own: pino's own pid field is the runner's.
    expect(exit).toMatchObject({ level: 50, hostPid: before.pid, pid: run.child.pid, code: 3 });
    await reloaded(run, 2);
    const crashed = await eventually(async () => (await project.records<Handled>('handled.jsonl')).find((record) => record.id === 'crash'), 'the crashing message handled on a later attempt');
    expect(crashed).toMatchObject({ version: 2 });
    expect(crashed.pid).not.toBe(before.pid);
    expect(await handle(watched, 'm2')).toMatchObject({ version: 2, pid: crashed.pid });

    // A rejected promise nothing handles: one line from the child, not Node's raw stack, then the same.
    await publish(watched.httpAddress, TOPIC, 'forget');
    const said = await run.waitForMessage("a rejected promise that nothing awaited or caught: forgotten in a task; the worker's process exits, and the runner loads the code again");
    expect(said).toMatchObject({ level: 50, origin: 'unhandledRejection' });
    // Its stack ends at the worker's frame, as in a plain run: the package's frames below are cut.
    const stack = String((said.err as { stack?: string } | undefined)?.stack);
    expect(stack.split('\n').slice(1), stack).toEqual([expect.stringContaining(WORKER_FILE.replace(/^.*\//, ''))]);
    await run.waitForLine((line) => line.msg === 'worker host exited unexpectedly: loading the worker code again' && line.code === 1, 'the second unexpected exit');
    await eventually(async () => ((await project.records<Handled>('handled.jsonl')).some((record) => record.id === 'forget') ? true : undefined), 'the message handled on a later attempt');
    expect(run.stderr).not.toMatch(/Node\.js v\d+/);
  });
});

describe.concurrent('shutdown', () => {
  cliTest('SIGTERM while watching exits 0, runs the close hook and leaves no child process behind', async ({ projects }) => {
    const watched = await startWatched(projects);
    const { project, run } = watched;
    await project.write(WORKER_FILE, workerSource({ version: 2 }));
    await reloaded(run, 1);
    await handle(watched, 'm1');
    // The runner, its active child and its warm standby (and what they run, such as esbuild).
    const pid = run.child.pid!;
    const tree = await eventually(() => {
      const pids = processTree(pid);
      return pids.length >= 3 ? pids : undefined;
    }, 'the runner, its active child and its standby');

    run.kill('SIGTERM');
    expect(await run.waitForExit(15_000), run.describe()).toEqual({ code: 0, signal: null });
    const left = await eventually(() => {
      const alive = tree.filter((p) => isAlive(p));
      return alive.length === 0 ? alive : undefined;
    }, `the processes of the run (${tree.join(', ')}) to be gone`, 5_000);
    expect(left).toEqual([]);
    const closed = await project.records<Closed>('closed.jsonl');
    expect(closed.map((record) => record.version)).toEqual([1, 2]);
  });
});

describe.concurrent('a child that loads the code', () => {
  cliTest("starts with tsx's disk cache and V8's optimizer off, and the user's code sees neither; the standby only once saved", async ({ projects }) => {
    const project = await projects.create();
    await writeReloadProject(project);
    // tsx keeps its cache under the OS's temp folder: this run's own, to look into.
    const tmp = project.path('tmp');
    await mkdir(tmp);
    const run = project.startWorker(TOPIC, CHANNEL, WATCH_ARGS, { TMPDIR: tmp });
    const { httpAddress, tcpAddress } = await run.brokerAddresses();
    await run.subscribed([CHANNEL]);
    const watched = { project, run, httpAddress, tcpAddress };
    expect(await handle(watched, 'm1')).toMatchObject({ version: 1 });
    const hosts = (): string[][] => processTree(run.child.pid!).slice(1).map((pid) => commandLine(pid)).filter((argv) => argv.some((arg) => arg.endsWith('reload/host.js')));
    // No standby before the first save: a run never edited starts none.
    expect(hosts()).toHaveLength(1);

    const marker = `compiled-in-a-child-${process.pid}-${Date.now()}`;
    // V8's status of a function it was asked to optimize, as the module loads: bit 16 is "optimized"
    // (V8's runtime-test.cc). The flag that allows the status call is set before the call is compiled.
    const prelude = [
      `import { setFlagsFromString } from 'node:v8';`,
      `setFlagsFromString('--allow-natives-syntax');`,
      `const OPTIMIZED_AT_LOAD = (new Function('function hot(x) { return x * 2 + 1; } %PrepareFunctionForOptimization(hot); hot(1); hot(2); %OptimizeFunctionOnNextCall(hot); hot(3); return %GetOptimizationStatus(hot);')() & 16) !== 0;`,
    ].join(' ');
    const taskPrelude = `appendFileSync('switch.jsonl', JSON.stringify({ marker: ${JSON.stringify(marker)}, value: process.env.TSX_DISABLE_CACHE ?? null, mark: process.env.NSQWORKER_HOST_OPTIMIZER_OFF_WHILE_STARTING ?? null, optimized: OPTIMIZED_AT_LOAD, execArgv: process.execArgv }) + '\\n');`;
    await project.write(WORKER_FILE, workerSource({ version: 2, prelude, taskPrelude }));
    await reloaded(run, 1);
    expect(await handle(watched, 'm2')).toMatchObject({ version: 2 });
    // The children (the active one and the standby the save started) were forked with the optimizer off.
    const forkedWith = await eventually(() => (hosts().length >= 2 ? hosts().map((argv) => argv[1]) : undefined), 'the active child and a standby');
    expect(new Set(forkedWith)).toEqual(new Set(['--no-turbofan']));
    // The runner runs with no flags of its own: a fork() in the user's code gets none either, and
    // the environment the user gave.
    expect(await project.records('switch.jsonl')).toEqual([{ marker, value: null, mark: null, optimized: true, execArgv: [] }]);

    // The child compiled version 2; had it used the cache, the compiled code would be in a file there.
    const cached = await cacheFiles(tmp);
    const holding = cached.filter((file) => readFileSync(file, 'utf8').includes(marker));
    expect(holding, `tsx cache files holding the new code, of ${cached.length}`).toEqual([]);
  });
});

/** Every file under `dir`'s tsx cache folders (`tsx-<uid>`). */
async function cacheFiles(dir: string): Promise<string[]> {
  const folders = (await readdir(dir)).filter((name) => name.startsWith('tsx-')).map((name) => join(dir, name));
  const files = await Promise.all(folders.map(async (folder) => (await readdir(folder)).map((name) => join(folder, name))));
  return files.flat();
}
