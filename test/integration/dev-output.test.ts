/**
 * `nsqworker dev` output follows one rule for every line, the runner's and the tasks': JSON when
 * stdout is not a terminal (pretty on one). A worker that fails to load, at start or on reload, is
 * reported with its file, line, column and reason, not a compiler's stack.
 */
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect } from 'vitest';
import { eventually, publish } from './helpers/cli-project.ts';
import { cliTest } from './helpers/cli-test.ts';

const WORKER = `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async greet(message, context) {
      context.log.info({ body: message.text() }, 'task says hello');
    },
  },
});
`;

const BROKEN = `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    async greet( {
  },
});
`;

// A required option dev is not given: its line 4 declares it.
const NEEDS_OPTION = `import { z } from 'zod';
import { defineWorker } from 'nsqworker';
export default defineWorker({
  options: z.object({ smtpHost: z.string() }),
  tasks: { async send() {} },
});
`;

const FREE = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'data'];

describe.concurrent('nsqworker dev output', () => {
  cliTest('is JSON, for the runner and the tasks alike, when stdout is not a terminal', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('hello', 'c', WORKER);
    const dev = p.spawn(['dev', ...FREE]);
    const { httpAddress } = await dev.brokerAddresses();
    await dev.waitForMessage('subscribed', { task: 'greet' });
    await publish(httpAddress, 'hello', 'world');
    await dev.waitForMessage('task says hello', { body: 'world' });
    const nonJson = dev.text.filter((line) => line.trim() !== '' && !line.trim().startsWith('{'));
    expect(nonJson, dev.describe()).toEqual([]);
    expect(dev.text.join('\n')).not.toMatch(/\u001b\[/);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  });

  cliTest('starts a worker file created empty once it is written (cat > file), names a bad one once and retries its fix once written; skips a folder named as no topic', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('hello', 'c', WORKER);
    const file = p.path('workers/later/later_c_worker.ts');
    await mkdir(dirname(file), { recursive: true });
    const dev = p.spawn(['dev', ...FREE, '--log-level', 'debug']);
    await dev.waitForMessage('subscribed', { task: 'greet' });
    await writeFile(file, '');
    await dev.waitForMessage('worker file seen empty', { file });
    await writeFile(file, WORKER);
    // A worker's start under dev is a child's start and load: slow on a loaded machine.
    await dev.waitForMessage('subscribed', { topic: 'later' }, 25_000);
    expect(dev.lines.filter((line) => String(line.msg).includes('did not start')), dev.describe()).toEqual([]);

    await p.writeWorker('bad', 'c', 'export default {};\n');
    const bad = await dev.waitForMessage('worker bad/c did not start');
    expect(String(bad.msg).split(p.path('workers/bad/bad_c_worker.ts')).length - 1, String(bad.msg)).toBe(1);
    // Its fix saved as `cat > file` does, seen between the truncate and the write (whose own event
    // may be dropped): retried once written, not loaded empty and refused again.
    const badFile = p.path('workers/bad/bad_c_worker.ts');
    const beforeFix = dev.lines.length;
    await truncate(badFile);
    // This truncate's own line: the file was seen empty once already, as it was created.
    const seenEmpty = (): boolean => dev.lines.slice(beforeFix).some((line) => String(line.msg).startsWith('worker file seen empty') && line.file === badFile);
    await eventually(() => (seenEmpty() ? true : undefined), 'the truncated file seen empty');
    await writeFile(badFile, WORKER);
    await dev.waitForMessage('subscribed', { topic: 'bad' }, 25_000);
    expect(dev.lines.slice(beforeFix).filter((line) => String(line.msg).startsWith('worker bad/c did not start')), dev.describe()).toEqual([]);

    // A folder whose name is no topic: named as at dev's start, not loaded.
    await p.writeWorker('bad name', 'x', WORKER);
    await dev.waitForMessage('not a worker by its name, skipped');
    expect(dev.lines.filter((line) => String(line.msg).includes('bad name/x')), dev.describe()).toEqual([]);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  }, 45_000);

  cliTest('retries a worker that failed on a helper beside it once the helper is fixed', async ({ projects }) => {
    const p = await projects.create();
    await p.write('workers/lib/shared.ts', "import { GiveUpMesage } from 'nsqworker';\nexport const stop = (): never => { throw new GiveUpMesage('no'); };\n");
    await p.writeWorker('helped', 'c', "import { defineWorker } from 'nsqworker';\nimport { stop } from '../lib/shared.ts';\nexport default defineWorker({ tasks: { async x() { stop(); } } });\n");
    const dev = p.spawn(['dev', ...FREE, '--console-address', 'off']);
    const failed = await dev.waitForMessage('worker helped/c did not start');
    expect(String(failed.msg)).toContain('GiveUpMesage');
    await p.write('workers/lib/shared.ts', "import { GiveUpMessage } from 'nsqworker';\nexport const stop = (): never => { throw new GiveUpMessage('no'); };\n");
    // A worker's start under dev is a child's start and load: slow on a loaded machine.
    await dev.waitForMessage('subscribed', { topic: 'helped' }, 25_000);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  }, 45_000);

  cliTest('retries a worker that failed on a helper outside the workers folder once the helper is fixed', async ({ projects }) => {
    const p = await projects.create();
    await p.write('lib/shared.ts', "export const ready = (): never => { throw new Error('no database yet'); };\nready();\n");
    await p.writeWorker('outside', 'c', "import { defineWorker } from 'nsqworker';\nimport '../../lib/shared.ts';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const dev = p.spawn(['dev', ...FREE, '--console-address', 'off', '--data-path', 'broker-data']);
    const failed = await dev.waitForMessage('worker outside/c did not start');
    expect(String(failed.msg)).toContain('no database yet');
    await p.write('lib/shared.ts', "export const ready = (): boolean => true;\nready();\n");
    await dev.waitForMessage('subscribed', { topic: 'outside' }, 25_000);
    // Deeper in the workers folder than its watch of worker files reaches: the same.
    await p.write('workers/lib/db/client.ts', "export const connect = (): never => { throw new Error('no client yet'); };\nconnect();\n");
    await p.writeWorker('deep', 'c', "import { defineWorker } from 'nsqworker';\nimport '../lib/db/client.ts';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    await dev.waitForMessage('worker deep/c did not start');
    await p.write('workers/lib/db/client.ts', "export const connect = (): boolean => true;\nconnect();\n");
    await dev.waitForMessage('subscribed', { topic: 'deep' }, 25_000);
    // Tried again for the save that mended it, not for the broker's writes in its data path (no dot folder here).
    expect(dev.lines.filter((line) => String(line.msg).startsWith('worker outside/c did not start')), dev.describe()).toHaveLength(1);
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(0);
  }, 45_000);

  cliTest('says, a second into a stop, which tasks it waits for', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('slow', 'c', `
import { defineWorker } from 'nsqworker';
export default defineWorker({
  tasks: {
    // Runs until the test ends it: the stop waits for it meanwhile.
    async hang(_message, context) {
      context.log.info('task started');
      await new Promise((resolve) => setTimeout(resolve, 60_000));
    },
  },
});
`);
    const dev = p.spawn(['dev', ...FREE]);
    const { httpAddress } = await dev.brokerAddresses();
    await dev.waitForMessage('subscribed', { task: 'hang' });
    await publish(httpAddress, 'slow', 'x');
    await dev.waitForMessage('task started');
    dev.kill('SIGTERM');
    const waiting = await dev.waitForLine((line) => String(line.msg).startsWith('shutdown waits for'), 'the line naming the running task');
    expect(waiting.msg).toBe('shutdown waits for 1 message its tasks are handling (slow/c hang: 1) to finish, up to 30s after the stop began; a second SIGTERM (or Ctrl-C) stops now, and they are delivered again');
    dev.kill('SIGTERM');
    expect((await dev.waitForExit()).code).toBe(130);
  });

  cliTest('reports a worker that fails to load, at start and on reload, by file, line, column and reason', async ({ projects }) => {
    const p = await projects.create();
    await p.writeWorker('hello', 'c', WORKER);
    await p.writeWorker('broken', 'c', BROKEN);
    await p.writeWorker('needs', 'c', NEEDS_OPTION);
    // A module that never finishes loading (it awaits a database that is down): it holds no other worker up.
    await p.writeWorker('hang', 'c', "import { defineWorker } from 'nsqworker';\nawait new Promise(() => {});\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const dev = p.spawn(['dev', ...FREE], { NSQWORKER_SMTPHOST: 'smtp.example', NSQWORKER_MAX_INFLIGHT: '3' });
    const atStart = await dev.waitForMessage('worker broken/c did not start');
    expect(atStart.file).toBe(p.path('workers/broken/broken_c_worker.ts'));
    expect(atStart.line).toEqual(expect.any(Number));
    expect(atStart.column).toEqual(expect.any(Number));
    expect(String(atStart.reason)).toContain('syntax error');
    expect(atStart.err).toBeUndefined();
    // Failed in its child: located there, at the option's declaration, in the words a run uses.
    const unconfigured = await dev.waitForMessage('worker needs/c did not start');
    expect(unconfigured).toMatchObject({ file: p.path('workers/needs/needs_c_worker.ts'), line: 4 });
    expect(unconfigured.reason).toBe('invalid options of worker needs/c: --smtp-host (NSQWORKER_SMTP_HOST) is required and not given (expected a string)');
    expect(unconfigured.msg).toContain(`(under dev, give worker options in nsqworker.config.ts under workers['needs/c'], or as NSQWORKER_* variables); it is retried when its file or another file of the project changes`);
    // Given to dev as a flag, as a run takes it: refused, with where it goes instead.
    const asFlag = await p.run(['dev', '--smtp-host', 'smtp.example', ...FREE]);
    expect(asFlag.code).toBe(2);
    expect(asFlag.stderr.trim()).toBe(
      "nsqworker: unknown flag --smtp-host; dev runs every worker and takes no worker option as a flag: set NSQWORKER_SMTP_HOST or give it in the config file under workers['<topic>/<channel>']",
    );
    // A run's own flags: where the setting comes from under dev, or that dev decides it.
    const [setting, decided, slip] = await Promise.all([
      p.run(['dev', '--nsqd-tcp-address', '127.0.0.1:4150', ...FREE]),
      p.run(['dev', '--topic', 'needs', ...FREE]),
      // A typo of one of those is that flag, not a worker option to set as NSQWORKER_CHANEL.
      p.run(['dev', '--chanel', 'c', ...FREE]),
    ]);
    expect(setting.stderr.trim()).toBe('nsqworker: unknown flag --nsqd-tcp-address; under dev, the runner setting comes from NSQWORKER_NSQD_TCP_ADDRESSES or nsqdTcpAddresses in the config file');
    expect(decided.stderr.trim()).toBe('nsqworker: unknown flag --topic; dev runs every worker, each watched: it takes no --topic');
    expect(slip.stderr.trim()).toBe(
      "nsqworker: unknown flag --chanel; did you mean --channel? dev runs every worker, each watched: it takes no --channel; if --chanel is a worker's option, dev runs every worker and takes no worker option as a flag: set NSQWORKER_CHANEL or give it in the config file under workers['<topic>/<channel>']",
    );
    // Variables a typo away from a runner setting's or a worker option's, once the workers have loaded.
    await dev.waitForMessage('NSQWORKER_MAX_INFLIGHT is set but not read; did you mean NSQWORKER_MAX_IN_FLIGHT?');
    await dev.waitForMessage('NSQWORKER_SMTPHOST is set but not read; did you mean NSQWORKER_SMTP_HOST?');
    // The config file, written after the start with the option, starts the worker.
    await p.write('nsqworker.config.ts', `export default { workers: { 'needs/c': { smtpHost: 'smtp.example' } } };\n`);
    await dev.waitForMessage('worker needs/c running');

    await dev.waitForMessage('subscribed', { task: 'greet' });
    await p.writeWorker('hello', 'c', BROKEN);
    const onReload = await dev.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 'reload failure');
    expect(onReload.file).toBe(p.path('workers/hello/hello_c_worker.ts'));
    expect(onReload.line).toEqual(expect.any(Number));
    expect(onReload.column).toEqual(expect.any(Number));
    expect(String(onReload.msg)).toMatch(/hello_c_worker\.ts:\d+:\d+: syntax error/);
    expect(onReload.err).toBeUndefined();
    expect(JSON.stringify(onReload)).not.toMatch(/\n\s+at /);
    // The module that never finishes loading is said after 10 s (its load keeps nothing else from
    // running, and dev's own work keeps the process alive: nothing else would say it).
    const slow = await dev.waitForLine((line) => String(line.msg).startsWith('worker hang/c is still starting'), 'the slow start to be said', 20_000);
    expect(slow.msg).toBe("worker hang/c is still starting after 10s: is its module's top level waiting on something (a connection, an await)?");
    expect(slow.level).toBe(40);
    // A stop does not wait for it (the shutdown timeout is 30 s): a module still loading holds nothing.
    dev.kill('SIGTERM');
    expect((await dev.waitForExit(10_000)).code).toBe(0);
    // dev with four workers' children, three more dev runs and two reloads: 10-14 s alone, past 30 s
    // once on two busy cores. Each wait above has its own deadline against a hang.
  }, 60_000);

  cliTest('a --watch run whose worker never finishes loading says so after 10 s, and a SIGTERM stops it there', async ({ projects }) => {
    const p = await projects.create();
    // Its top level retries a database for ever: its timer alone would keep the process running.
    await p.writeWorker('stuck', 'forever', "import { defineWorker } from 'nsqworker';\nawait new Promise(() => { setInterval(() => {}, 1000); });\nexport default defineWorker({ tasks: { async x() {} } });\n");
    // The early child's channel keeps the process alive: no end of the wait would say it, nor let a signal through.
    const watched = p.spawn(['--topic', 'stuck', '--channel', 'forever', '--watch', ...FREE]);
    await eventually(() => (watched.stderr.includes('is still loading after 10s') ? true : undefined), 'the slow load to be said', 25_000);
    expect(watched.stderr.trim()).toBe(
      `nsqworker: ${p.path('workers/stuck/stuck_forever_worker.ts')} is still loading after 10s: is its module's top level waiting on something (a connection, an await)?`,
    );
    // Nothing holds a message yet: it ends there, at once.
    watched.kill('SIGTERM');
    expect((await watched.waitForExit()).code).toBe(0);
  }, 45_000);
});
