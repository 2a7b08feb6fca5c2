/**
 * The package's own processes run compiled JavaScript: `nsqworker broker` and `nsqworker lookupd`
 * run from their bundle (dist/servers.js), `pub`, `tail` and `stats` from theirs (dist/tools.js),
 * and never load tsx or the runner; the rest runs from the package's bundle (dist/bundle/; its
 * source maps name what each loaded file holds), and a worker's process loads tsx only for the
 * user's files (and, for a CommonJS project, only tsx's require hooks). A module hook, registered in
 * each child with --import, records every module URL the child resolves.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProjects, CliRun, REPO_ROOT } from './helpers/cli-project.ts';

const projects = new CliProjects();
const dirs: string[] = [];
afterEach(async () => {
  await projects.cleanup();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A --import module that appends every resolved module URL to `log`. */
async function resolveRecorder(dir: string, log: string): Promise<string> {
  const hooks = path.join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function resolve(specifier, context, next) {',
      '  const result = await next(specifier, context);',
      `  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');`,
      '  return result;',
      '}',
    ].join('\n'),
  );
  const register = path.join(dir, 'register.mjs');
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return register;
}

async function modulesLoadedBy(args: readonly string[], ready: (run: CliRun) => Promise<unknown>, cwd?: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-notsx-'));
  dirs.push(dir);
  const log = path.join(dir, 'modules.log');
  const register = await resolveRecorder(dir, log);
  const child = spawn(process.execPath, ['--import', register, path.join(REPO_ROOT, 'bin/nsqworker.js'), ...args], {
    cwd: cwd ?? dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = new CliRun(child);
  try {
    await ready(run);
  } finally {
    run.kill('SIGTERM');
    await run.waitForExit();
  }
  return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
}

/** The source files (relative to the repository) of the bundle files among `urls`, from their source maps. */
async function bundledSources(urls: readonly string[]): Promise<string[]> {
  const sources = new Set<string>();
  for (const url of new Set(urls)) {
    if (!url.includes('/dist/bundle/')) continue;
    const file = fileURLToPath(url);
    const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources: string[] };
    for (const source of map.sources) sources.add(path.relative(REPO_ROOT, path.resolve(path.dirname(file), source)));
  }
  return [...sources].sort();
}

const loadsTsx = (urls: string[]): boolean => urls.some((url) => url.includes('/node_modules/tsx/'));
/**
 * Whether a worker run registers any ES module hooks: Node's own debug log (NODE_DEBUG=esm) says
 * so each time the main thread posts to the hooks thread. No recorder here, which is a hook itself.
 */
async function registersModuleHooks(dir: string, args: readonly string[], until: string): Promise<boolean> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/nsqworker.js'), ...args], {
    cwd: dir,
    env: { ...process.env, NODE_DEBUG: 'esm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = new CliRun(child);
  try {
    await run.waitForMessage(until);
  } finally {
    run.kill('SIGTERM');
    await run.waitForExit();
  }
  return run.stderr.includes('post sync message to worker');
}

const runArgs = (topic: string, dataPath: string): string[] => ['--topic', topic, '--channel', 'c', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', dataPath];
const free = ['--tcp-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'];

describe('processes that run no user code never load tsx', () => {
  it('nsqworker broker', async () => {
    const dataPath = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-notsx-data-'));
    dirs.push(dataPath);
    const urls = await modulesLoadedBy(['broker', ...free, '--data-path', dataPath], (run) => run.waitForMessage('TCP: listening'));
    expect(urls.some((url) => url.endsWith('/dist/servers.js'))).toBe(true);
    expect(loadsTsx(urls)).toBe(false);
    expect(urls.filter((url) => url.includes('/dist/bundle/'))).toEqual([]);
  });

  it('nsqworker lookupd', async () => {
    const urls = await modulesLoadedBy(['lookupd', ...free], (run) => run.waitForMessage('TCP: listening'));
    expect(urls.some((url) => url.endsWith('/dist/servers.js'))).toBe(true);
    expect(loadsTsx(urls)).toBe(false);
    expect(urls.filter((url) => url.includes('/dist/bundle/'))).toEqual([]);
  });

  it('nsqworker pub and stats: from their bundle, nothing of the runner', async () => {
    // Port 1: nothing listens there, so pub fails at once; stats without --topic is a usage error.
    const pub = await modulesLoadedBy(['pub', '--topic', 'notsx', '--nsqd-tcp-address', '127.0.0.1:1', 'body'], (run) => run.waitForExit());
    const stats = await modulesLoadedBy(['stats'], (run) => run.waitForExit());
    for (const urls of [pub, stats]) {
      expect(urls.some((url) => url.endsWith('/dist/tools.js'))).toBe(true);
      expect(loadsTsx(urls)).toBe(false);
      expect(urls.filter((url) => url.includes('/dist/bundle/'))).toEqual([]);
    }
  });

  it("nsqworker --help loads the run plan only: no tsx, broker, client or subcommands", async () => {
    const urls = await modulesLoadedBy(['--help'], (run) => run.waitForExit());
    expect(urls.some((url) => url.endsWith('/dist/bundle/runner/help-cli.js'))).toBe(true);
    expect(loadsTsx(urls)).toBe(false);
    const sources = await bundledSources(urls);
    expect(sources).toContain('runner/run-plan.ts');
    expect(sources.filter((source) => /^(broker|client|console)\/|^runner\/commands\/(?!run-help\.ts)/.test(source))).toEqual([]);
  });

  it('but a worker process loads it for the worker file, and not for the package', async () => {
    const project = await projects.create();
    await project.writeWorker('notsx', 'c', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { t() {} } });\n");
    const urls = await modulesLoadedBy(
      ['--topic', 'notsx', '--channel', 'c', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', project.path('data')],
      (run) => run.waitForMessage('subscribed'),
      project.dir,
    );
    expect(loadsTsx(urls)).toBe(true);
    expect(await registersModuleHooks(project.dir, runArgs('notsx', project.path('data2')), 'subscribed')).toBe(true);
    // Our modules are resolved once each, from the bundle: never a TypeScript source, nor tsc's output.
    const ours = urls.filter((url) => url.startsWith(pathToFileURL(REPO_ROOT).href) && !url.includes('/node_modules/'));
    expect(ours.filter((url) => /\.ts($|\?)/.test(url))).toEqual([]);
    expect(ours.filter((url) => url.includes('/dist/') && !url.includes('/dist/bundle/'))).toEqual([]);
  });

  it("a CommonJS project's worker gets tsx's require hooks only, not its ES module hooks and their thread", async () => {
    const project = await projects.create();
    await writeFile(project.path('package.json'), '{"type":"commonjs"}\n');
    await project.writeWorker('cjs', 'c', "import { defineWorker } from 'nsqworker';\nexport default defineWorker({ tasks: { t() {} } });\n");
    expect(await registersModuleHooks(project.dir, runArgs('cjs', project.path('data')), 'subscribed')).toBe(false);
  });

  it("but one whose code calls import() gets the ES module hooks too, and imports TypeScript with it", async () => {
    const project = await projects.create();
    await writeFile(project.path('package.json'), '{"type":"commonjs"}\n');
    await project.writeWorker(
      'cjsdyn',
      'c',
      [
        "import { defineWorker } from 'nsqworker';",
        "import('./plugin.ts').then((plugin: { word: string }) => console.log(JSON.stringify({ msg: `plugin says ${plugin.word}` })));",
        'export default defineWorker({ tasks: { t() {} } });',
      ].join('\n'),
    );
    await writeFile(project.path('workers/cjsdyn/plugin.ts'), "export const word: string = 'hello';\n");
    expect(await registersModuleHooks(project.dir, runArgs('cjsdyn', project.path('data')), 'plugin says hello')).toBe(true);
  });
});
