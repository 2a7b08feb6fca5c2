/**
 * The packed package in users' projects: workers in every module system and file type run with
 * `nsqworker --topic T --channel C` (the bin `npx nsqworker` runs) on the embedded broker, handle a message published over
 * HTTP, and exit 0 on SIGTERM. And what the tarball ships.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../integration/helpers/cli-project.ts';
import { InstalledPackage, publishOverHttp, type UserProject } from './installed-package.ts';

let installed: InstalledPackage;

beforeAll(async () => {
  installed = await InstalledPackage.install();
}, 120_000);

afterAll(async () => {
  await installed?.cleanup();
});

const objectWorker = (label: string, importLine: string, exportLine: string): string =>
  [
    importLine,
    `${exportLine}defineWorker({`,
    '  tasks: {',
    '    greet(message, context) {',
    `      context.log.info({ text: message.text() }, '${label} handled');`,
    '    },',
    '  },',
    '});',
    '',
  ].join('\n');

const classWorker = (label: string, typed: boolean): string =>
  [
    typed ? "import { Worker, type TaskContext, type WorkerMessage } from 'nsqworker';" : "import { Worker } from 'nsqworker';",
    '',
    'export default class GreetWorker extends Worker {',
    `  async greetTask(message${typed ? ': WorkerMessage' : ''}, context${typed ? ': TaskContext' : ''}) {`,
    `    context.log.info({ text: message.text() }, '${label} handled');`,
    '  }',
    '}',
    '',
  ].join('\n');

/** Runs each worker (topic = its label), publishes to it, waits for it to handle the message, then stops it with SIGTERM. */
async function runEach(project: UserProject, labels: readonly string[]): Promise<void> {
  await Promise.all(
    labels.map(async (label) => {
      const worker = project.startWorker(label, 'hello');
      const listening = await worker.waitForMessage('embedded broker listening', {}, 30_000);
      await worker.waitForMessage('subscribed', {}, 30_000);
      await publishOverHttp(String(listening.httpAddress), label, `hi ${label}`);
      await worker.waitForMessage(`${label} handled`, { text: `hi ${label}` }, 30_000);
      worker.kill('SIGTERM');
      const exit = await worker.waitForExit(30_000);
      expect(exit, worker.describe()).toEqual({ code: 0, signal: null });
      expect(worker.stderr).toBe('');
    }),
  );
}

describe('the packed package', () => {
  it('ships the build, deploy/, README and LICENSE; no sources, tests, benchmarks or CI', () => {
    const files = installed.packedFiles;
    expect(files).toContain('dist/bundle/index.js');
    expect(files).toContain('dist/bundle/runner/cli.js');
    expect(files).toContain('dist/servers.js');
    expect(files).toContain('dist/tools.js');
    expect(files).toContain('dist/index.d.ts');
    // tsc's JavaScript is only the bundles' input: nothing runs it.
    expect(files.filter((file) => file.endsWith('.js') && !/^(dist\/bundle\/|dist\/(servers|tools)\.js$|dist\/console\/page-assets\/|bin\/)/.test(file))).toEqual([]);
    expect(files).toContain('bin/nsqworker.js');
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files.some((file) => file.startsWith('deploy/'))).toBe(true);
    expect(files.filter((file) => /^(test|bench|\.ci|examples|workers)\//.test(file))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    // The console's page is bundled at build time: nothing is fetched when it runs.
    expect(files).toContain('dist/console/page-assets/app.js');
    expect(files).toContain('dist/console/page-assets/app.css');
  });

  it("ships every file the README links to or shows, so that its images work where it is read installed", async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const relative = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z]+:/.test(target));
    expect(relative.length).toBeGreaterThan(0);
    expect(relative.filter((target) => !installed.packedFiles.includes(target))).toEqual([]);
  });

  it('serves the web console from the installed package, its page from the bundle in dist/', async () => {
    const project = await installed.project();
    const admin = project.start(project.bin, ['admin', '--http-address', '127.0.0.1:0', '--nsqd-http-address', '127.0.0.1:1'], { NSQWORKER_LOG_FORMAT: 'json' });
    const httpAddress = String((await admin.waitForMessage('console: listening on')).httpAddress);
    const page = await fetch(`http://${httpAddress}/`);
    expect(await page.text()).toContain('assets/app.js');
    const script = await fetch(`http://${httpAddress}/assets/app.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    admin.kill('SIGTERM');
    expect((await admin.waitForExit()).code).toBe(0);
  });

  it('runs .ts and .cts workers in a project made with npm init -y (CommonJS), object and class form', async () => {
    const project = await installed.project();
    expect(JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(project.path('package.json'), 'utf8'))).type).toBe('commonjs');
    await project.write('workers/objts/objts_hello_worker.ts', objectWorker('objts', "import { defineWorker } from 'nsqworker';", 'export default '));
    await project.write('workers/classts/classts_hello_worker.ts', classWorker('classts', true));
    await project.write('workers/objcts/objcts_hello_worker.cts', objectWorker('objcts', "import { defineWorker } from 'nsqworker';", 'export default '));
    await runEach(project, ['objts', 'classts', 'objcts']);
  }, 120_000);

  it('runs .ts, .js, .mjs and .cjs workers in a "type": "module" project', async () => {
    const project = await installed.project('module');
    await project.write('workers/ests/ests_hello_worker.ts', classWorker('ests', true));
    await project.write('workers/esjs/esjs_hello_worker.js', objectWorker('esjs', "import { defineWorker } from 'nsqworker';", 'export default '));
    await project.write('workers/esmjs/esmjs_hello_worker.mjs', classWorker('esmjs', false));
    await project.write(
      'workers/escjs/escjs_hello_worker.cjs',
      objectWorker('escjs', "const { defineWorker } = require('nsqworker');", 'module.exports = '),
    );
    await runEach(project, ['ests', 'esjs', 'esmjs', 'escjs']);
  }, 120_000);

  it('runs a CommonJS exports.default worker in a project with no "type"', async () => {
    const project = await installed.project('none');
    await project.write(
      'workers/expdef/expdef_hello_worker.js',
      objectWorker('expdef', "const { defineWorker } = require('nsqworker');", 'exports.default = '),
    );
    await runEach(project, ['expdef']);
  }, 120_000);

  // The two npx tests wait on their timers together, each in a project of its own.
  it.concurrent('started with npx, stops as on SIGTERM once a SIGTERM has ended npx, which passes none on', async () => {
    const project = await installed.project();
    await project.write('workers/npx/npx_hello_worker.ts', objectWorker('npx', "import { defineWorker } from 'nsqworker';", 'export default '));
    const free = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0'];
    const npx = project.start('npx', ['--offline', 'nsqworker', '--topic', 'npx', '--channel', 'hello', ...free], { NSQWORKER_LOG_FORMAT: 'json' });
    // pino's pid: the worker's own, npx's child.
    const worker = Number((await npx.waitForMessage('subscribed', {}, 30_000)).pid);
    try {
      npx.kill('SIGTERM');
      // Read to the end of the output, which the worker writes too: it has exited as well.
      await npx.waitForExit(30_000);
      expect(npx.lines.map((line) => line.msg)).toEqual(
        expect.arrayContaining(['npm, which started this process, has exited: stopping as on SIGTERM', 'shutting down', 'worker stopped']),
      );
    } finally {
      // Left running by a failure above: not left to hold its ports.
      try {
        process.kill(worker, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
  }, 120_000);

  it.concurrent("started with npx, a SIGTERM to the whole group drains as ever: npx's exit meanwhile is no second signal", async () => {
    const project = await installed.project();
    const slow = [
      "import { defineWorker } from 'nsqworker';",
      'export default defineWorker({',
      '  tasks: {',
      '    async greet(message, context) {',
      "      context.log.info('slow task started');",
      // Longer than nsqworker takes to look whether npm is still there.
      '      await new Promise((resolve) => setTimeout(resolve, 2500));',
      "      context.log.info('slow task finished');",
      '    },',
      '  },',
      '});',
      '',
    ].join('\n');
    await project.write('workers/group/group_hello_worker.ts', slow);
    const free = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0'];
    const npx = project.start('npx', ['--offline', 'nsqworker', '--topic', 'group', '--channel', 'hello', ...free], { NSQWORKER_LOG_FORMAT: 'json' }, { ownGroup: true });
    try {
      const listening = await npx.waitForMessage('embedded broker listening', {}, 30_000);
      await npx.waitForMessage('subscribed', {}, 30_000);
      await publishOverHttp(String(listening.httpAddress), 'group', 'hi');
      await npx.waitForMessage('slow task started', {}, 30_000);
      // npx and nsqworker alike, as systemd's KillMode=control-group and supervisord's stopasgroup stop them.
      process.kill(-npx.child.pid!, 'SIGTERM');
      await npx.waitForExit(30_000);
      const said = npx.lines.map((line) => line.msg);
      expect(said).toEqual(expect.arrayContaining(['shutting down', 'slow task finished', 'worker stopped']));
      expect(said).not.toContain('second signal: exiting now');
    } finally {
      try {
        process.kill(-npx.child.pid!, 'SIGKILL');
      } catch {
        // The group is gone, as it should be.
      }
    }
  }, 120_000);

  it('says what a wrong export is, and names both files when a worker is there twice', async () => {
    const project = await installed.project();
    await project.write('workers/wrong/wrong_hello_worker.ts', 'export const tasks = {};\nexport default { greet() {} };\n');
    const wrong = project.start(project.bin, ['--topic', 'wrong', '--channel', 'hello']);
    expect((await wrong.waitForExit(30_000)).code).toBe(2);
    expect(wrong.stderr).toContain('found default: an object with keys greet; named exports: tasks');
    expect(wrong.stderr).not.toMatch(/\n\s+at /);

    // A named export only, in a CommonJS project (compiled to exports.worker with __esModule).
    await project.write('workers/named/named_hello_worker.ts', objectWorker('named', "import { defineWorker } from 'nsqworker';", 'export const worker = '));
    const named = project.start(project.bin, ['--topic', 'named', '--channel', 'hello']);
    expect((await named.waitForExit(30_000)).code).toBe(2);
    expect(named.stderr).toContain('found no default export; named exports: worker');

    await project.write('workers/twice/twice_hello_worker.ts', objectWorker('twice', "import { defineWorker } from 'nsqworker';", 'export default '));
    await project.write('workers/twice/twice_hello_worker.js', objectWorker('twice', "const { defineWorker } = require('nsqworker');", 'module.exports = '));
    const twice = project.start(project.bin, ['--topic', 'twice', '--channel', 'hello']);
    expect((await twice.waitForExit(30_000)).code).toBe(2);
    expect(twice.stderr).toContain('twice_hello_worker.js');
    expect(twice.stderr).toContain('twice_hello_worker.ts');
  }, 120_000);
});
