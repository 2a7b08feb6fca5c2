/**
 * Expected failures of every command are one line on stderr that says what to fix, never a Node
 * stack: a malformed address or a bad value (exit 2) names the flag, variable or config key and the
 * value; a port another program holds (exit 1, a restart may mend it) names the flag and address.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/nsqd/server.ts';
import { CliProjects, eventually, type CliProject, type CliResult } from './helpers/cli-project.ts';

const projects = new CliProjects();
const held: Array<Server & { closeAllConnections?: () => void }> = [];
afterEach(async () => {
  await Promise.all(
    held.splice(0).map((server) => {
      // A probe's socket may still be open on the held port; close() would wait for it.
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
  await projects.cleanup();
});

const WORKER = `
import { defineWorker } from 'nsqworker';
export default defineWorker({ tasks: { async noop() {} } });
`;

async function project(): Promise<CliProject> {
  const p = await projects.create();
  await p.writeWorker('log', 'pageview', WORKER);
  return p;
}

/** A port held by a program that is not NSQ. */
async function holdPort(): Promise<string> {
  const sockets = new Set<import('node:net').Socket>();
  const server = Object.assign(
    createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }),
    { closeAllConnections: () => sockets.forEach((socket) => socket.destroy()) },
  );
  held.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `127.0.0.1:${address.port}`;
}

/** Every file under a folder: its size, modification time (ns) and content hash. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const info = await stat(file, { bigint: true });
    const hash = entry.isFile() ? createHash('sha256').update(await readFile(file)).digest('hex') : entry.isDirectory() ? 'dir' : 'other';
    files.set(path.relative(dir, file), `${info.size} ${info.mtimeNs} ${hash}`);
  }
  return files;
}

/** One line on stderr, and no stack frame anywhere in it. */
function expectOneLine(result: CliResult, code: number, ...parts: string[]): void {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  expect(lines, result.stderr).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  for (const part of parts) expect(lines[0]).toContain(part);
}

const FREE = ['--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0'];
const RUN = ['--topic', 'log', '--channel', 'pageview'];

describe('a malformed address is one line naming where it was given, exit 2', () => {
  it('for a worker run: flag, environment variable and config key', async () => {
    const p = await project();
    const [flag, env, broker] = await Promise.all([
      p.run([...RUN, ...FREE, '--data-path', 'd1', '--nsqd-tcp-address', 'localhost']),
      p.run([...RUN, ...FREE, '--data-path', 'd2'], { NSQWORKER_LOOKUPD_HTTP_ADDRESSES: 'nowhere' }),
      p.run([...RUN, '--broker-tcp-address', '127.0.0.1', '--data-path', 'd3']),
    ]);
    expectOneLine(flag, 2, '--nsqd-tcp-address "localhost"', 'expected host:port');
    expectOneLine(env, 2, 'NSQWORKER_LOOKUPD_HTTP_ADDRESSES "nowhere"', 'expected host:port');
    expectOneLine(broker, 2, '--broker-tcp-address "127.0.0.1"', 'expected host:port');
    await p.write('nsqworker.config.ts', "export default { nsqdTcpAddresses: ['localhost'] };\n");
    const config = await p.run([...RUN, ...FREE, '--data-path', 'd4']);
    expectOneLine(config, 2, 'nsqworker.config.ts', 'nsqdTcpAddresses', '"localhost"', 'expected host:port');
  });

  it('for broker, lookupd, admin, pub, tail, stats and dev', async () => {
    const p = await project();
    const results = await Promise.all([
      p.run(['broker', '--tcp-address', 'localhost', '--data-path', 'd1']),
      p.run(['broker', '--http-address', '127.0.0.1:0', '--tcp-address', '127.0.0.1:0', '--mem-queue-size=-1', '--data-path', 'd2']),
      p.run(['lookupd', '--http-address', 'nowhere']),
      // No address at all: nsqadmin v1.3.0 refuses to start so, and so does admin, before it listens.
      p.run(['admin', '--http-address', '127.0.0.1:0']),
      p.run(['broker', '--log-level', 'loud', '--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-path', 'd9']),
      p.run(['pub', '--topic', 't', '--nsqd-tcp-address', 'localhost', 'x']),
      p.run(['tail', '--topic', 't', '--lookupd-http-address', 'nowhere']),
      p.run(['stats', '--topic', 't', '--channel', 'c', '--nsqd-http-address', 'nowhere']),
      p.run(['dev', '--broker-tcp-address', 'localhost', '--data-path', 'd3']),
      p.run(['dev', '--console-address', 'localhost', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'd8']),
      p.run(['admin', '--help']),
      p.run(['dev', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', 'd10'], { NSQWORKER_CONSOLE_ADDRESS: 'nowhere' }),
    ]);
    const [broker, memQueue, lookupd, admin, logLevel, pub, tail, stats, dev, devConsole, adminHelp, devConsoleEnv] = results;
    expectOneLine(admin!, 2, '--nsqd-http-address or --lookupd-http-address required');
    // Its help says so before anyone runs into it.
    expect(adminHelp!.stdout).toMatch(/--nsqd-http-address <value> +nsqd HTTP address \(may be given multiple times\); this or --lookupd-http-address is required/);
    expectOneLine(logLevel!, 2, '--log-level "loud"', 'expected one of');
    expectOneLine(broker!, 2, '--tcp-address "localhost"', 'expected host:port');
    expectOneLine(memQueue!, 2, '--mem-queue-size -1');
    expectOneLine(lookupd!, 2, '--http-address "nowhere"', 'expected host:port');
    expectOneLine(pub!, 2, '--nsqd-tcp-address', '"localhost"', 'expected host:port');
    expectOneLine(tail!, 2, '--lookupd-http-address', '"nowhere"', 'expected host:port');
    expectOneLine(stats!, 2, '--nsqd-http-address', '"nowhere"', 'expected host:port');
    expectOneLine(dev!, 2, '--broker-tcp-address "localhost"', 'expected host:port');
    // Refused before anything starts, not a console left out with a logged stack.
    expectOneLine(devConsole!, 2, '--console-address "localhost": expected host:port', 'or off to skip the console');
    expectOneLine(devConsoleEnv!, 2, 'NSQWORKER_CONSOLE_ADDRESS "nowhere": expected host:port', 'or off to skip the console');
  });

  it('a missing config file and a bad value in the environment', async () => {
    const p = await project();
    const [missing, badEnv] = await Promise.all([
      p.run(['list', '--config', 'nope.config.ts']),
      p.run([...RUN, ...FREE, '--data-path', 'd1'], { NSQWORKER_MAX_IN_FLIGHT: '0' }),
    ]);
    expectOneLine(missing, 2, 'nope.config.ts', 'does not exist');
    expectOneLine(badEnv, 2, 'NSQWORKER_MAX_IN_FLIGHT "0"', 'expected a whole number of at least 1');
  });
});

describe('a worker that does not load', () => {
  it('is one line with its file, line, column and reason: exit 2 for code at fault, exit 1 for a throw as it ran', async () => {
    const p = await project();
    await p.writeWorker('bad', 'syntax', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({\n  tasks: { async x( { } },\n});\n");
    await p.writeWorker('bad', 'missing', "import { defineWorker } from 'nsqworker';\nimport './nope.ts';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    await p.writeWorker('bad', 'throws', "import { defineWorker } from 'nsqworker';\nthrow new Error('no database');\nexport default defineWorker({ tasks: { async x() {} } });\n");
    await p.writeWorker('bad', 'required', "const fs = require('node:fs');\nimport { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const [syntax, missing, throws, required] = await Promise.all([
      p.run(['--topic', 'bad', '--channel', 'syntax', ...FREE, '--data-path', 'd1']),
      p.run(['--topic', 'bad', '--channel', 'missing', ...FREE, '--data-path', 'd2']),
      p.run(['--topic', 'bad', '--channel', 'throws', ...FREE, '--data-path', 'd3']),
      p.run(['--topic', 'bad', '--channel', 'required', ...FREE, '--data-path', 'd5']),
    ]);
    // CommonJS's require in an ES module project fails wherever it loads: the code's fault, with the ways out.
    expectOneLine(required, 2, `${p.path('workers/bad/bad_required_worker.ts')}:1:`, 'ReferenceError: require is not defined in ES module scope', 'its package.json says "type": "module"', 'or name it .cts');
    expectOneLine(syntax, 2, `${p.path('workers/bad/bad_syntax_worker.ts')}:3:`, 'syntax error');
    expectOneLine(missing, 2, `${p.path('workers/bad/bad_missing_worker.ts')}:`, 'Cannot find module', 'nope.ts');
    // A database down at import may be up at the next start: systemd's and supervisord's configs
    // restart exit 1, not exit 2.
    expectOneLine(throws, 1, `${p.path('workers/bad/bad_throws_worker.ts')}:2:`, 'Error: no database');
  });

  it('under --watch says so and waits for a save, as dev does; a save that mends it runs the worker', async () => {
    const p = await project();
    const file = p.path('workers/bad/bad_throws_worker.ts');
    await p.writeWorker('bad', 'throws', "import { defineWorker } from 'nsqworker';\nthrow new Error('no database');\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const watched = p.spawn(['--topic', 'bad', '--channel', 'throws', '--watch', ...FREE, '--data-path', 'd4'], { NSQWORKER_LOG_FORMAT: 'json' });
    const waits = (): number => watched.stderr.split('\n').filter((line) => line === 'nsqworker: --watch: waiting for a save to load the worker again (Ctrl-C to stop)').length;
    await eventually(() => (waits() === 1 ? true : undefined), 'the run to wait for a save', 20_000);
    expect(watched.stderr).toContain(`nsqworker: ${file}:2:`);
    expect(watched.stderr).toContain('Error: no database');
    expect(watched.stderr).not.toMatch(/\n\s+at /);
    // A save that does not mend it: said again, and it waits again (its helper fails now).
    await p.write('workers/bad/helper.ts', "export const ready = (): never => { throw new Error('still no database'); };\nready();\n");
    await p.writeWorker('bad', 'throws', "import { defineWorker } from 'nsqworker';\nimport './helper.ts';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const waiting = 'nsqworker: --watch: waiting for a save to load the worker again (Ctrl-C to stop)\n';
    await eventually(() => (watched.stderr.includes('still no database') && watched.stderr.endsWith(waiting) ? true : undefined), 'the second failure to be said', 20_000);
    expect(waits()).toBeGreaterThanOrEqual(2);
    // Mending the helper alone is a save too: the worker's code is read afresh.
    await p.write('workers/bad/helper.ts', "export const ready = (): boolean => true;\nready();\n");
    await watched.subscribed(['x']);
    watched.kill('SIGTERM');
    expect((await watched.waitForExit()).code).toBe(0);
  });

  it('under --watch, a SIGTERM while it waits for a save stops it, exit 0', async () => {
    const p = await project();
    await p.writeWorker('bad', 'syntax', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({\n  tasks: { async x( { } },\n});\n");
    const watched = p.spawn(['--topic', 'bad', '--channel', 'syntax', '--watch', ...FREE, '--data-path', 'd6']);
    await eventually(() => (watched.stderr.includes('waiting for a save') ? true : undefined), 'the run to wait for a save', 20_000);
    watched.kill('SIGTERM');
    expect((await watched.waitForExit()).code).toBe(0);
  });

  it('whose top-level await nothing will settle is one line, exit 2, in a run and in list: not a silent exit 13', async () => {
    const p = await project();
    await p.writeWorker('stuck', 'forever', "import { defineWorker } from 'nsqworker';\nawait new Promise(() => {});\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const [run, listed] = await Promise.all([p.run(['--topic', 'stuck', '--channel', 'forever', ...FREE]), p.run(['list'])]);
    const reason = 'failed to load: its top-level await never finishes: it waits on a promise that nothing left to run will settle';
    expectOneLine(run, 2, `${p.path('workers/stuck/stuck_forever_worker.ts')}: ${reason}`);
    // list names it among the others.
    expect(listed.code).toBe(2);
    expect(listed.stdout).toContain(`stuck/forever  FAILED TO LOAD: ${p.path('workers/stuck/stuck_forever_worker.ts')}: ${reason}`);
    expect(listed.stdout).toContain('log/pageview  tasks: noop');
  });

  it('names the line in a CommonJS project whose path has a space (its stack frames give the path as it is)', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'nsqworker cli '));
    projects.defer(() => rm(parent, { recursive: true, force: true }));
    const p = await projects.create({ parent });
    await p.write('package.json', '{}\n');
    await p.writeWorker('bad', 'throws', "import { defineWorker } from 'nsqworker';\nfunction connect(): never {\n  throw new Error('no database');\n}\nconnect();\nexport default defineWorker({ tasks: { async x() {} } });\n");
    await p.writeWorker('bad', 'syntax', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({\n  tasks: { async x( { } },\n});\n");
    // A top-level await, which a CommonJS file cannot have: said with the ways out.
    await p.writeWorker('bad', 'awaits', "import { defineWorker } from 'nsqworker';\nconst ready = await Promise.resolve(1);\nexport default defineWorker({ tasks: { async x() { void ready; } } });\n");
    const [throws, syntax, awaits] = await Promise.all([
      p.run(['--topic', 'bad', '--channel', 'throws', ...FREE, '--data-path', 'd1']),
      p.run(['--topic', 'bad', '--channel', 'syntax', ...FREE, '--data-path', 'd2']),
      p.run(['--topic', 'bad', '--channel', 'awaits', ...FREE, '--data-path', 'd3']),
    ]);
    expectOneLine(throws, 1, `${p.path('workers/bad/bad_throws_worker.ts')}:3:9: failed to load: Error: no database`);
    expectOneLine(syntax, 2, `${p.path('workers/bad/bad_syntax_worker.ts')}:3:`, 'syntax error');
    expectOneLine(awaits, 2, `${p.path('workers/bad/bad_awaits_worker.ts')}:2:`, 'syntax error: Top-level await', 'the file is CommonJS', 'name the file .mts');
    // A .cts file, CommonJS whatever package.json says: named as it is, not as the .ts tsx compiled it to.
    await p.write('package.json', '{ "type": "module" }\n');
    await p.write('workers/cts/cts_c_worker.cts', "import { defineWorker } from 'nsqworker';\nconst ready = await Promise.resolve(1);\nexport default defineWorker({ tasks: { async x() { void ready; } } });\n");
    const cts = await p.run(['--topic', 'cts', '--channel', 'c', ...FREE, '--data-path', 'd4']);
    expectOneLine(cts, 2, `${p.path('workers/cts/cts_c_worker.cts')}:2:`, 'a .cts file is CommonJS whatever package.json says');
  });

  it('names a misspelt import from nsqworker, with the export meant, in a CommonJS project and an ES module one (exit 2)', async () => {
    const [cjs, esm] = await Promise.all([projects.create(), projects.create()]);
    await cjs.write('package.json', '{}\n');
    const source = "import { z } from 'zod';\nimport { defineWorkr } from 'nsqworker';\nexport default defineWorkr({ tasks: { async x() {} } });\n";
    await Promise.all([cjs.writeWorker('bad', 'typo', source), esm.writeWorker('bad', 'typo', source)]);
    const args = ['--topic', 'bad', '--channel', 'typo', ...FREE];
    const [fromCjs, fromEsm] = await Promise.all([cjs.run(args), esm.run(args)]);
    // CommonJS: esbuild's (0 , import_nsqworker.defineWorkr)(...) throws "is not a function" as it runs.
    expectOneLine(fromCjs, 2, `${cjs.path('workers/bad/bad_typo_worker.ts')}:3:`, 'failed to load: nsqworker has no export named defineWorkr; did you mean defineWorker?');
    // An ES module fails to link, naming the export itself.
    expectOneLine(fromEsm, 2, `${esm.path('workers/bad/bad_typo_worker.ts')}`, "does not provide an export named 'defineWorkr'; did you mean defineWorker?");
    // The class form in CommonJS: extending the undefined import is named the same way.
    await cjs.writeWorker('bad', 'klass', "import { Workr } from 'nsqworker';\nexport default class Billing extends Workr {\n  async sendTask() {}\n}\n");
    const klass = await cjs.run(['--topic', 'bad', '--channel', 'klass', ...FREE]);
    expectOneLine(klass, 2, `${cjs.path('workers/bad/bad_klass_worker.ts')}:2:`, 'failed to load: nsqworker has no export named Workr; did you mean Worker?');
    // Imported misspelt, used as it should be: CommonJS fails only where it is used, by that name.
    await cjs.writeWorker('bad', 'used', "import { defineWorkr } from 'nsqworker';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const used = await cjs.run(['--topic', 'bad', '--channel', 'used', ...FREE]);
    expectOneLine(used, 2, `${cjs.path('workers/bad/bad_used_worker.ts')}:2:`, 'failed to load: defineWorker is not defined: nsqworker has no export named defineWorkr; did you mean defineWorker?');
    // Used only inside a task, CommonJS would fail message after message: refused at load, at the
    // import's line, as an ES module's link is. A type imported without `type` is no mistake.
    await cjs.writeWorker(
      'bad',
      'intask',
      "import { defineWorker, GiveUpMesage, TaskContext } from 'nsqworker';\nexport default defineWorker({ tasks: { async x(_m: unknown, _c: TaskContext) { throw new GiveUpMesage('no'); } } });\n",
    );
    await cjs.writeWorker('bad', 'typed', "import { defineWorker, TaskContext, type WorkerMessage } from 'nsqworker';\nexport default defineWorker({ tasks: { async x(_m: WorkerMessage, _c: TaskContext) {} } });\n");
    const [inTask, typed] = await Promise.all([cjs.run(['--topic', 'bad', '--channel', 'intask', ...FREE]), cjs.run(['--topic', 'bad', '--channel', 'typed', ...FREE, '--help'])]);
    expectOneLine(inTask, 2, `${cjs.path('workers/bad/bad_intask_worker.ts')}:1: failed to load: nsqworker has no export named GiveUpMesage; did you mean GiveUpMessage?`);
    expect(typed.code, typed.stderr).toBe(0);
    // In a helper the worker requires, the same; an import written in a string is none.
    await cjs.write('workers/lib/stop.ts', "import { GiveUpMesage } from 'nsqworker';\nexport const stop = (): never => { throw new GiveUpMesage('no'); };\n");
    await cjs.writeWorker('bad', 'helper', "import { defineWorker } from 'nsqworker';\nimport { stop } from '../lib/stop';\nexport default defineWorker({ tasks: { async x() { stop(); } } });\n");
    await cjs.writeWorker('bad', 'quoted', "import { defineWorker } from 'nsqworker';\nconst doc = `as in:\nimport { defineWorkr } from 'nsqworker'`;\nexport default defineWorker({ tasks: { async x() { void doc; } } });\n");
    const [helper, quoted] = await Promise.all([cjs.run(['--topic', 'bad', '--channel', 'helper', ...FREE]), cjs.run(['--topic', 'bad', '--channel', 'quoted', ...FREE, '--help'])]);
    expectOneLine(helper, 2, `${cjs.path('workers/lib/stop.ts')}:1: failed to load: nsqworker has no export named GiveUpMesage; did you mean GiveUpMessage?`);
    // Re-exported by a helper, used by the worker inside a task: the helper's line.
    await cjs.write('workers/lib/names.ts', "export { defineWorker, GiveUpMesage } from 'nsqworker';\n");
    await cjs.writeWorker('bad', 'reexport', "import { defineWorker, GiveUpMesage } from '../lib/names';\nexport default defineWorker({ tasks: { async x() { throw new GiveUpMesage('no'); } } });\n");
    const reexport = await cjs.run(['--topic', 'bad', '--channel', 'reexport', ...FREE]);
    expectOneLine(reexport, 2, `${cjs.path('workers/lib/names.ts')}:1: failed to load: nsqworker has no export named GiveUpMesage; did you mean GiveUpMessage?`);
    // A plain .cjs worker's require, destructured: the same, at its line.
    await cjs.write('workers/bad/bad_plain_worker.cjs', "const { defineWorker, RequeueMesage } = require('nsqworker');\nmodule.exports = defineWorker({ tasks: { async x() { throw new RequeueMesage(100); } } });\n");
    const plain = await cjs.run(['--topic', 'bad', '--channel', 'plain', ...FREE]);
    expectOneLine(plain, 2, `${cjs.path('workers/bad/bad_plain_worker.cjs')}:1: failed to load: nsqworker has no export named RequeueMesage; did you mean RequeueMessage?`);
    expect(quoted.code, quoted.stderr).toBe(0);
    // A misspelt package name, in both kinds of project.
    const packageTypo = "import { defineWorker } from 'nsqworkr';\nexport default defineWorker({ tasks: { async x() {} } });\n";
    await Promise.all([cjs.writeWorker('bad', 'pkg', packageTypo), esm.writeWorker('bad', 'pkg', packageTypo)]);
    const [pkgCjs, pkgEsm] = await Promise.all([cjs.run(['--topic', 'bad', '--channel', 'pkg', ...FREE]), esm.run(['--topic', 'bad', '--channel', 'pkg', ...FREE])]);
    expectOneLine(pkgCjs, 2, "Cannot find module 'nsqworkr'; did you mean nsqworker?");
    expectOneLine(pkgEsm, 2, "Cannot find package 'nsqworkr'", '; did you mean nsqworker?');
    // An import in a comment is none: the ReferenceError is said as it is, a throw as the module ran.
    await cjs.writeWorker('bad', 'noted', "// was: import { defineWorkr } from 'nsqworker';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const noted = await cjs.run(['--topic', 'bad', '--channel', 'noted', ...FREE]);
    expectOneLine(noted, 1, `${cjs.path('workers/bad/bad_noted_worker.ts')}:2:`, 'failed to load: ReferenceError: defineWorker is not defined');
    // Each failure is its own worker's: one loaded after them all (good/ after bad/) is listed whole,
    // not blamed for the misspelt imports of files that failed before it.
    await cjs.writeWorker('good', 'ok', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { async x() {} } });\n");
    const listed = await cjs.run(['list']);
    expect(listed.stdout).toMatch(/^bad\/typo +FAILED TO LOAD: .*bad_typo_worker\.ts:3:.*no export named defineWorkr/m);
    expect(listed.stdout).toMatch(/^bad\/helper +FAILED TO LOAD: .*stop\.ts:1:.*no export named GiveUpMesage/m);
    expect(listed.stdout).toMatch(/^good\/ok +tasks: x /m);
  });

  it("is not loaded for a bad value of a runner flag: that is said first, the worker's options and flags around it passed over", async () => {
    const p = await project();
    // Its top level leaves a mark: the run must refuse before it runs.
    await p.writeWorker(
      'log',
      'marked',
      "import { writeFileSync } from 'node:fs';\nimport { z } from 'zod';\nimport { defineWorker } from 'nsqworker';\nwriteFileSync('loaded', '');\nexport default defineWorker({ options: z.object({ label: z.string().default('a'), verbose: z.boolean().default(false) }), tasks: { async x() {} } });\n",
    );
    await p.writeWorker('bad', 'throws', "throw new Error('no database');\n");
    const marked = ['--topic', 'log', '--channel', 'marked', ...FREE, '--data-path', 'd1'];
    const [flagged, broken, several] = await Promise.all([
      p.run([...marked, '--label', 'x', '--verbose', '--max-in-flight', 'lots']),
      p.run(['--topic', 'bad', '--channel', 'throws', ...FREE, '--data-path', 'd2', '--max-attempts=-1']),
      p.run([...marked, '--requeue-delay', 'soon', '--shutdown-timeout', '5'], { NSQWORKER_MAX_IN_FLIGHT: 'lots' }),
    ]);
    expectOneLine(flagged, 2, '--max-in-flight "lots": expected a whole number of at least 1');
    expectOneLine(broken, 2, '--max-attempts "-1"');
    // Every value that does not convert, in one line: not one mistake per run.
    expectOneLine(
      several,
      2,
      'NSQWORKER_MAX_IN_FLIGHT "lots": expected a whole number of at least 1; --requeue-delay "soon": expected a duration',
      '; --shutdown-timeout "5": expected a duration with its unit',
    );
    expect(existsSync(p.path('loaded')), 'the worker was loaded for a bad runner flag').toBe(false);
    // Read ahead, `--label --verbose` is passed over: the full reading, once the worker loaded, refuses it.
    const good = await p.run([...marked, '--label', '--verbose', '--max-in-flight', '5']);
    expectOneLine(good, 2, '--label needs a value');
    expect(existsSync(p.path('loaded'))).toBe(true);
  });

  it('with a zod 3 schema, options that are not an object schema, or an option a runner flag has: one line naming the fix, exit 2; list says so too', async () => {
    const p = await project();
    const worker = (head: string, options: string): string =>
      `import { defineWorker } from 'nsqworker';\n${head}\nexport default defineWorker({ options: ${options}, tasks: { async x() {} } });\n`;
    // zod 4's package carries zod 3's API at zod/v3: schemas as a project on zod 3 makes them.
    await p.writeWorker('bad', 'zod3', worker("import { z } from 'zod/v3';", 'z.object({ n: z.number().default(1) })'));
    await p.writeWorker('bad', 'notobject', worker("import { z } from 'zod';", 'z.string()'));
    await p.writeWorker('bad', 'clash', worker("import { z } from 'zod';", 'z.object({ maxAttempts: z.number().default(2) })'));
    await p.writeWorker('bad', 'values', worker('', '{ feePercent: 2 }'));
    const [zod3, notObject, clash, values, listed] = await Promise.all([
      p.run(['--topic', 'bad', '--channel', 'zod3', ...FREE, '--data-path', 'd1']),
      p.run(['--topic', 'bad', '--channel', 'notobject', ...FREE, '--data-path', 'd2']),
      p.run(['--topic', 'bad', '--channel', 'clash', ...FREE, '--data-path', 'd3']),
      p.run(['--topic', 'bad', '--channel', 'values', ...FREE, '--data-path', 'd4']),
      p.run(['list']),
    ]);
    // The values where their schema belongs: no advice to install zod.
    expectOneLine(values, 2, "the worker's options is not a zod schema: give one made with zod 4's z (options: z.object({ feePercent: z.number().default(2) }))");
    const clashing = "option maxAttempts clashes with the runner's flag --max-attempts; rename it";
    expectOneLine(clash, 2, `${p.path('workers/bad/bad_clash_worker.ts')}: ${clashing}`);
    // As a run refuses it, list does (it listed the option as the worker's, and exited 0).
    expect(listed.stdout).toContain(`    INVALID: ${clashing}`);
    expect(listed.code).not.toBe(0);
    expectOneLine(zod3, 2, "the worker's options is a zod 3 schema: nsqworker takes zod 4 (import { z } from 'zod' with zod 4 installed: npm install zod@^4; or from 'zod/v4' with zod 3.25)");
    expectOneLine(notObject, 2, "the worker's options must be z.object({ ... }), not a zod string schema");
    expect(listed.stdout).toContain("bad/zod3  FAILED TO LOAD: ");
    expect(listed.stdout).toContain('a zod 3 schema');
  });
});

describe('a port held by another program is one line naming the flag and address, exit 1', () => {
  // Three processes at a time, with room to start on a busy machine: each loads tsx and the worker.
  const SLOW = 25_000;

  it('for a worker run: broker TCP, broker HTTP and health addresses', async () => {
    const p = await project();
    const taken = await holdPort();
    const results = await Promise.all([
      p.run([...RUN, '--broker-tcp-address', taken, '--broker-http-address', '127.0.0.1:0', '--data-path', 'd1'], {}, SLOW),
      p.run([...RUN, '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', taken, '--data-path', 'd2'], {}, SLOW),
      p.run([...RUN, ...FREE, '--data-path', 'd3', '--health-address', taken], {}, SLOW),
    ]);
    const flags = ['--broker-tcp-address', '--broker-http-address', '--health-address'];
    results.forEach((result, i) => expectOneLine(result, 1, `${flags[i]!} ${taken}`, 'already in use'));
  });

  it('for broker, lookupd, admin and dev', async () => {
    const p = await project();
    const taken = await holdPort();
    const results = await Promise.all([
      p.run(['broker', '--tcp-address', taken, '--http-address', '127.0.0.1:0', '--data-path', 'd4'], {}, SLOW),
      p.run(['lookupd', '--tcp-address', '127.0.0.1:0', '--http-address', taken], {}, SLOW),
      p.run(['lookupd', '--tcp-address', taken, '--http-address', '127.0.0.1:0'], {}, SLOW),
      p.run(['admin', '--http-address', taken, '--nsqd-http-address', '127.0.0.1:1'], {}, SLOW),
      p.run(['dev', '--broker-tcp-address', taken, '--broker-http-address', '127.0.0.1:0', '--data-path', 'd5'], {}, SLOW),
    ]);
    const flags = ['--tcp-address', '--http-address', '--tcp-address', '--http-address', '--broker-tcp-address'];
    results.forEach((result, i) => expectOneLine(result, 1, `${flags[i]!} ${taken}: the address is already in use by another program`));
    // Nor a logged stack beside it.
    for (const result of results) expect(result.stdout).not.toContain('listener error');
  });

  it('names an NSQ server as one when the holder answers as one (a second broker beside a running one)', async () => {
    const p = await project();
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: p.path('held') });
    try {
      const [tcp, http, worker] = await Promise.all([
        p.run(['broker', '--tcp-address', broker.tcpAddress, '--http-address', '127.0.0.1:0', '--data-path', 'd6'], {}, SLOW),
        p.run(['lookupd', '--tcp-address', '127.0.0.1:0', '--http-address', broker.httpAddress], {}, SLOW),
        // A worker on the broker's TCP address but another HTTP one: it cannot tell it is a broker to join.
        p.run([...RUN, '--broker-tcp-address', broker.tcpAddress, '--broker-http-address', '127.0.0.1:0', '--data-path', 'd7'], {}, SLOW),
      ]);
      const nsq = 'the address is already in use by an NSQ server (an nsqd, an nsqlookupd or another nsqworker: it answered as one)';
      expectOneLine(tcp, 1, `--tcp-address ${broker.tcpAddress}: ${nsq}`);
      expectOneLine(http, 1, `--http-address ${broker.httpAddress}: ${nsq}`);
      expectOneLine(worker, 1, `--broker-tcp-address ${broker.tcpAddress}: ${nsq}; stop it, or choose another address; a worker uses a broker already running only when --broker-http-address is that broker's too`);
    } finally {
      await broker.close();
    }
  });

  it('before the data path is touched: no state restored, rewritten or created', async () => {
    const p = await project();
    // A data path with saved state, as a stopped broker leaves it: topics, channels, a paused topic, messages.
    const dataPath = p.path('state');
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath });
    try {
      for (let i = 0; i < 50; i++) {
        const topic = broker.nsqd.getOrCreateTopic(`topic_${i}`);
        topic.getOrCreateChannel('work');
        await fetch(`http://${broker.httpAddress}/pub?topic=topic_${i}`, { method: 'POST', body: `message ${i}` });
      }
      await fetch(`http://${broker.httpAddress}/topic/pause?topic=topic_0`, { method: 'POST' });
    } finally {
      await broker.close();
    }
    const before = await snapshot(dataPath);
    expect(before.has('nsqd.dat')).toBe(true);

    const taken = await holdPort();
    const [worker, server, fresh] = await Promise.all([
      p.run([...RUN, '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', taken, '--data-path', dataPath], {}, SLOW),
      p.run(['broker', '--tcp-address', taken, '--http-address', '127.0.0.1:0', '--data-path', dataPath], {}, SLOW),
      p.run([...RUN, '--broker-tcp-address', taken, '--broker-http-address', '127.0.0.1:0', '--data-path', 'never'], {}, SLOW),
    ]);
    expectOneLine(worker, 1, `--broker-http-address ${taken}`, 'already in use');
    expectOneLine(server, 1, `--tcp-address ${taken}`, 'already in use');
    expectOneLine(fresh, 1, `--broker-tcp-address ${taken}`, 'already in use');
    // Loading the state and persisting it again on the way out would have rewritten nsqd.dat at least.
    expect(await snapshot(dataPath)).toEqual(before);
    expect(existsSync(p.path('never'))).toBe(false);
  });

  it('--log-level debug adds the stack', async () => {
    const p = await project();
    const taken = await holdPort();
    const result = await p.run(['broker', '--tcp-address', taken, '--http-address', '127.0.0.1:0', '--data-path', 'd', '--log-level', 'debug']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`--tcp-address ${taken}`);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe('a data path that cannot be a folder', () => {
  it('is one line naming the flag, exit 2', async () => {
    const p = await project();
    await p.write('taken', 'a file\n');
    const result = await p.run(['--topic', 'log', '--channel', 'pageview', ...FREE, '--data-path', 'taken']);
    expectOneLine(result, 2, 'nsqworker: --data-path taken: a file is there, or above it, where a folder must be');
  });

  it('held by a broker on other addresses is one line saying how to share it or take another, exit 1', async () => {
    const p = await project();
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: p.path('shared') });
    try {
      const [run, dev] = await Promise.all([
        p.run(['--topic', 'log', '--channel', 'pageview', ...FREE, '--data-path', 'shared']),
        p.run(['dev', ...FREE, '--console-address', 'off', '--data-path', 'shared']),
      ]);
      for (const result of [run, dev]) {
        expectOneLine(
          result,
          1,
          `nsqworker: --data-path shared: data path ${p.path('shared')} is in use by another broker (pid ${process.pid}), not at --broker-http-address 127.0.0.1:0: give that broker's --broker-tcp-address and --broker-http-address to use it (its command line: ps -o args -p ${process.pid}), or another --data-path`,
        );
      }
    } finally {
      await broker.close();
    }
  });

  it('names the variables or the config keys the settings came from, not flags nobody gave', async () => {
    const p = await project();
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: p.path('shared') });
    const taken = await holdPort();
    try {
      const fromEnv = { NSQWORKER_DATA_PATH: 'shared', NSQWORKER_BROKER_TCP_ADDRESS: '127.0.0.1:0', NSQWORKER_BROKER_HTTP_ADDRESS: '127.0.0.1:0' };
      const [run, dev, held] = await Promise.all([
        p.run(['--topic', 'log', '--channel', 'pageview'], fromEnv),
        p.run(['dev', '--console-address', 'off'], fromEnv),
        p.run(['dev', '--console-address', 'off', '--data-path', 'd11'], { NSQWORKER_BROKER_TCP_ADDRESS: taken, NSQWORKER_BROKER_HTTP_ADDRESS: '127.0.0.1:0' }, 25_000),
      ]);
      for (const result of [run, dev]) {
        expectOneLine(
          result,
          1,
          `nsqworker: NSQWORKER_DATA_PATH shared: data path ${p.path('shared')} is in use by another broker (pid ${process.pid}), not at NSQWORKER_BROKER_HTTP_ADDRESS 127.0.0.1:0: give that broker's NSQWORKER_BROKER_TCP_ADDRESS and NSQWORKER_BROKER_HTTP_ADDRESS to use it (its command line: ps -o args -p ${process.pid}), or another NSQWORKER_DATA_PATH`,
        );
      }
      expectOneLine(held, 1, `NSQWORKER_BROKER_TCP_ADDRESS ${taken}: the address is already in use by another program`);
      await p.write('a-file', 'not a folder\n');
      await p.write('nsqworker.config.ts', "export default { dataPath: 'a-file' };\n");
      const fromConfig = await p.run(['--topic', 'log', '--channel', 'pageview', ...FREE]);
      expectOneLine(fromConfig, 2, 'nsqworker: nsqworker.config.ts: dataPath a-file: a file is there, or above it, where a folder must be');
    } finally {
      await broker.close();
    }
  });
});
