/**
 * `nsqworker dev`: every worker in one process on the embedded broker, reloading on change; a new
 * worker file starts its worker and a deleted one stops it. The web console runs beside it.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { CliProjects, eventually, publish } from './helpers/cli-project.ts';
import { commandLine, processTree } from './helpers/reload-fixture.ts';

const projects = new CliProjects();
afterEach(() => projects.cleanup());

function workerSource(name: string, version: number): string {
  return `
import { appendFile } from 'node:fs/promises';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async record(message) {
      await appendFile('handled.jsonl', JSON.stringify({ worker: '${name}', version: ${version}, body: message.text() }) + '\\n');
    },
  },
});
`;
}

it('runs every worker, starts new ones, refuses a second file for one, stops deleted ones, and reloads edited ones', async () => {
  const project = await projects.create();
  await project.writeWorker('alpha', 'c', workerSource('alpha', 1));
  await project.writeWorker('beta', 'c', workerSource('beta', 1));
  // A folder of no worker yet, watched from the start (for the file created empty, below).
  await mkdir(project.path('workers/delta'));
  const dev = project.spawn(
    ['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', project.path('data'), '--console-address', '127.0.0.1:0'],
    { NSQWORKER_LOG_FORMAT: 'json' },
  );
  const { httpAddress } = await dev.brokerAddresses();
  // The console is served beside the workers, on the embedded broker.
  const consoleAt = String((await dev.waitForMessage('console: listening on')).httpAddress);
  const overview = await eventually(async () => {
    const body = (await (await fetch(`http://${consoleAt}/api/overview`)).json()) as { nodes: Array<{ address: string }> };
    return body.nodes.length > 0 ? body : undefined;
  }, 'the console to poll the embedded broker');
  expect(overview.nodes[0]!.address).toBe(httpAddress);
  await dev.waitForMessage('worker alpha/c running');
  await dev.waitForMessage('worker beta/c running');
  const handled = (): Promise<Array<{ worker: string; version: number; body: string }>> => project.records('handled.jsonl');

  await publish(httpAddress, 'alpha', 'a1');
  await publish(httpAddress, 'beta', 'b1');
  await eventually(async () => ((await handled()).length === 2 ? true : undefined), 'both workers to handle a message');

  await project.writeWorker('gamma', 'c', workerSource('gamma', 1));
  await dev.waitForMessage('worker gamma/c running');
  await publish(httpAddress, 'gamma', 'g1');
  await eventually(async () => ((await handled()).some((r) => r.worker === 'gamma') ? true : undefined), 'the new worker to handle a message');

  // A second file for a running worker is refused, as at dev's start; it starts once the first is gone.
  await project.write('workers/gamma/gamma_c_worker.js', workerSource('gamma-js', 1));
  const twin = await dev.waitForLine((line) => String(line.msg).startsWith('two worker files for topic gamma channel c'), 'the second file of gamma/c refused');
  expect(twin).toMatchObject({ level: 50, file: project.path('workers/gamma/gamma_c_worker.js') });
  // Said once: a save of the refused file is no news (no second error line, checked below).
  await project.write('workers/gamma/gamma_c_worker.js', `${workerSource('gamma-js', 1)}\n// saved again\n`);
  await rm(project.path('workers/gamma/gamma_c_worker.ts'));
  const gammaJs = await dev.waitForLine((line) => String(line.msg).startsWith('worker gamma/c running') && line.file === project.path('workers/gamma/gamma_c_worker.js'), 'gamma/c from its .js file');
  expect(dev.lines.filter((line) => String(line.msg).startsWith('worker gamma/c running'))).toHaveLength(2);
  expect(dev.lines.indexOf(gammaJs)).toBeGreaterThan(dev.lines.findIndex((line) => String(line.msg).startsWith('worker gamma/c stopped')));
  // The channel goes on with the other file: no word of it staying, nor of a call to delete it.
  const handedOver = dev.lines.find((line) => String(line.msg).startsWith('worker gamma/c stopped'));
  expect(handedOver).toMatchObject({ level: 30, msg: `worker gamma/c stopped: its file was removed; ${project.path('workers/gamma/gamma_c_worker.js')} runs it now` });

  // A file added with a name that is not a worker's is named, as dev names them at its start.
  await project.write('workers/gamma/gamma-d_worker.ts', workerSource('gamma-d', 1));
  const misnamed = await dev.waitForLine((line) => String(line.msg).startsWith('not a worker by its name, skipped'), 'the misnamed file to be named');
  expect(misnamed).toMatchObject({ level: 40, file: 'workers/gamma/gamma-d_worker.ts' });
  // One created empty and then written, as `: > file` and a copy do, is named once it defines a
  // worker without the _worker suffix: at its change. The next misnamed file's line says its add was seen.
  await project.write('workers/delta/delta_c.ts', '');
  await project.write('workers/gamma/gamma-e_worker.ts', workerSource('gamma-e', 1));
  await dev.waitForLine((line) => line.file === 'workers/gamma/gamma-e_worker.ts', 'the misnamed file after the empty one to be named');
  await project.write('workers/delta/delta_c.ts', workerSource('delta', 1));
  const unsuffixed = await dev.waitForLine((line) => line.file === 'workers/delta/delta_c.ts', 'the file written after its creation to be named');
  expect(unsuffixed.msg).toContain('it has no _worker suffix (rename it to delta_c_worker.ts)');

  await rm(project.path('workers/beta/beta_c_worker.ts'));
  const stopped = await dev.waitForLine((line) => String(line.msg).startsWith('worker beta/c stopped: its file was removed'), 'the stop of beta/c');
  // Its channel stays, with the call that deletes it should the worker not come back.
  expect(stopped).toMatchObject({ level: 40, worker: 'beta/c', topic: 'beta', channels: ['c'] });
  expect(stopped.msg).toContain(`its channel c on topic beta stays and keeps a copy of every message published to it`);
  expect(stopped.msg).toContain(`delete it with: curl -X POST 'http://${httpAddress}/channel/delete?topic=beta&channel=c'`);
  // A removed file is not a failed reload: no error line for it, before or after the stop (the stop's is a warning).
  expect(dev.lines.filter((line) => Number(line.level) >= 50 && line !== twin)).toEqual([]);

  await project.writeWorker('alpha', 'c', workerSource('alpha', 2));
  await dev.waitForMessage('worker code reloaded', { worker: 'alpha/c' });
  await publish(httpAddress, 'alpha', 'a2');
  await eventually(async () => ((await handled()).some((r) => r.body === 'a2') ? true : undefined), 'the reloaded worker to handle a message');

  // beta is stopped: its message waits in the broker, unhandled.
  await publish(httpAddress, 'beta', 'b2');
  dev.kill('SIGTERM');
  expect((await dev.waitForExit()).code).toBe(0);
  const records = await handled();
  expect(records.find((r) => r.body === 'a2')?.version).toBe(2);
  expect(records.map((r) => r.body).sort()).toEqual(['a1', 'a2', 'b1', 'g1']);
});

it('runs on without the console, after one warning, when its address (here from NSQWORKER_CONSOLE_ADDRESS) is taken', async () => {
  const project = await projects.create();
  await project.writeWorker('alpha', 'c', workerSource('alpha', 1));
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  try {
    const dev = project.spawn(
      ['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', project.path('data')],
      { NSQWORKER_LOG_FORMAT: 'json', NSQWORKER_CONSOLE_ADDRESS: `127.0.0.1:${port}` },
    );
    const { httpAddress } = await dev.brokerAddresses();
    await dev.waitForMessage('worker alpha/c running');
    await publish(httpAddress, 'alpha', 'a1');
    await eventually(async () => ((await project.records('handled.jsonl')).length === 1 ? true : undefined), 'the worker to handle a message');
    expect(dev.lines.filter((line) => String(line.msg).startsWith('console not started')).map((line) => line.msg)).toEqual([
      `console not started: 127.0.0.1:${port} is taken; dev runs on without it (--console-address to move it, off to skip it)`,
    ]);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

it("runs each worker in the child forked as dev started; one forked for a file of no worker's (the config names another folder) is killed", async () => {
  const project = await projects.create();
  const pidWorker = "import { appendFile } from 'node:fs/promises';\nimport { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async record() { await appendFile('pids.txt', process.pid + '\\n'); } } });\n";
  // Forked for at the start (workers/ is the folder when the config is not read yet), then not a worker.
  await project.writeWorker('alpha', 'c', pidWorker);
  await project.write('elsewhere/beta/beta_c_worker.ts', pidWorker);
  await project.write('nsqworker.config.ts', "export default { workersDir: 'elsewhere' };\n");
  const dev = project.spawn(['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', project.path('data'), '--console-address', 'off'], {
    NSQWORKER_LOG_FORMAT: 'json',
  });
  const { httpAddress } = await dev.brokerAddresses();
  await dev.waitForMessage('worker beta/c running');
  await publish(httpAddress, 'beta', 'b1');
  const ran = await eventually(async () => (await readFile(project.path('pids.txt'), 'utf8').catch(() => '')).trim() || undefined, 'beta to handle its message');
  const hosts = (): number[] => processTree(dev.child.pid!).filter((pid) => commandLine(pid).some((arg) => /reload\/host\.[jt]s$/.test(arg)));
  await eventually(async () => (hosts().length === 1 ? true : undefined), "the child forked for alpha's file to be gone");
  expect(hosts()).toEqual([Number(ran)]);
  expect(dev.lines.some((line) => String(line.msg).includes('alpha'))).toBe(false);
  dev.kill('SIGTERM');
  expect((await dev.waitForExit()).code).toBe(0);
});
