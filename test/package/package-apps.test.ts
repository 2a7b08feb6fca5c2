/**
 * The packed package from users' apps: a TypeScript app that imports every public export
 * type-checks with TypeScript 5 and 7 under `tsc --init`'s settings and a bundler's, compiles, and
 * runs under plain node; a CommonJS script and a CommonJS TypeScript app require it; and
 * examples/publish-app publishes to a worker, across a broker restart.
 */
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, REPO_ROOT } from '../integration/helpers/cli-project.ts';
import { InstalledPackage, type UserProject } from './installed-package.ts';

let installed: InstalledPackage;
const TSC5 = (project: UserProject): string => project.path('node_modules/typescript5/bin/tsc');
const TSC7 = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

beforeAll(async () => {
  installed = await InstalledPackage.install();
}, 120_000);

afterAll(async () => {
  await installed?.cleanup();
});

/** Every name index.ts exports, split into values and types (read from its export lines). */
async function publicExports(): Promise<{ values: string[]; types: string[] }> {
  const index = await readFile(path.join(REPO_ROOT, 'index.ts'), 'utf8');
  const values: string[] = [];
  const types: string[] = [];
  for (const match of index.matchAll(/^export (type )?\{([^}]+)\}/gm)) {
    const names = match[2]!.split(',').map((name) => name.trim().split(/\s+as\s+/).pop()!);
    (match[1] === undefined ? values : types).push(...names.filter(Boolean));
  }
  return { values, types };
}

/** An app that names every export, then publishes and consumes through a broker it starts. */
async function appSource(): Promise<string> {
  const { values, types } = await publicExports();
  return [
    `import { ${values.join(', ')} } from 'nsqworker';`,
    `import type { ${types.join(', ')} } from 'nsqworker';`,
    '',
    `const everyValue = [${values.join(', ')}] as const;`,
    'console.error(`${everyValue.length} values`);',
    `export type EveryType = [${types.join(', ')}];`,
    '',
    'const dataPath = process.argv[2]!;',
    "const broker: BrokerHandle = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath });",
    'const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress], retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 100 } });',
    "await producer.publish('app', 'one');",
    "await producer.publishMany('app', ['two', 'three']);",
    // An object typed by an interface (no index signature) is a body too, sent as JSON.
    'interface Signup { kind: string; userId: number }',
    "const signup: Signup = { kind: 'signup', userId: 1 };",
    "await producer.publish('app', signup);",
    'const received: string[] = [];',
    'let consumer: Consumer | undefined;',
    'await new Promise<void>((resolve) => {',
    "  consumer = new Consumer({ topic: 'app', channel: 'c', nsqdTcpAddresses: [broker.tcpAddress], maxInFlight: 10 }, (message: Message) => {",
    '    received.push(message.text());',
    '    if (received.length === 4) resolve();',
    '  });',
    '  consumer.start();',
    '});',
    'await consumer!.close();',
    'await producer.close();',
    'await broker.close();',
    'console.log(JSON.stringify(received.sort()));',
    '',
  ].join('\n');
}

/** tsc's diagnostics, one per line ("" when none); with `emit`, it compiles too. */
async function typeCheck(project: UserProject, tsc: string, config: string, emit = false): Promise<string> {
  try {
    await project.exec(process.execPath, [tsc, ...(emit ? [] : ['--noEmit']), '-p', config]);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('the packed package in an app', () => {
  it('type-checks under tsc --init and a bundler config, with TypeScript 5 and 7, compiles, and runs under node', async () => {
    const project = await installed.project('module');
    await project.write('src/app.ts', await appSource());
    await project.exec(process.execPath, [TSC5(project), '--init']);
    // What tsc --init wrote, plus what any Node app adds: Node's types, and where to compile to.
    const init = (await readFile(project.path('tsconfig.json'), 'utf8')).replace('"types": [],', '"types": ["node"], "outDir": "out", "rootDir": "src",');
    await project.write('tsconfig.json', init);
    await project.write(
      'tsconfig.bundler.json',
      JSON.stringify({ compilerOptions: { module: 'esnext', moduleResolution: 'bundler', target: 'es2022', strict: true, lib: ['es2022', 'dom'], types: ['node'], noEmit: true }, include: ['src'] }),
    );
    await project.write(
      'tsconfig.bundler-nodom.json',
      JSON.stringify({ compilerOptions: { module: 'preserve', moduleResolution: 'bundler', target: 'es2022', strict: true, lib: ['es2022'], types: ['node'], noEmit: true }, include: ['src'] }),
    );
    // The bundler configs check the package's declarations too (no skipLibCheck). TypeScript 5 is
    // slow: it checks the two configs users most often have.
    // TypeScript 7 compiles with tsc --init's config as it checks it.
    const checks: Array<[string, string, boolean?]> = [
      [TSC5(project), 'tsconfig.json'],
      [TSC5(project), 'tsconfig.bundler.json'],
      [TSC7, 'tsconfig.json', true],
      [TSC7, 'tsconfig.bundler.json'],
      [TSC7, 'tsconfig.bundler-nodom.json'],
    ];
    const results = await Promise.all(checks.map(async ([tsc, config, emit]) => `${tsc} -p ${config}: ${(await typeCheck(project, tsc, config, emit)) || 'clean'}`));
    expect(results).toEqual(checks.map(([tsc, config]) => `${tsc} -p ${config}: clean`));
    const { stdout } = await project.exec(process.execPath, ['out/app.js', project.path('data')]);
    expect(JSON.parse(stdout)).toEqual(['one', 'three', 'two', '{"kind":"signup","userId":1}']);
  }, 120_000);

  it('is required by a CommonJS script and by a CommonJS TypeScript app (module nodenext) under plain node', async () => {
    const project = await installed.project();
    await project.write(
      'publish.cjs',
      [
        "const { startBroker, Producer, Consumer } = require('nsqworker');",
        '(async () => {',
        "  const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: process.argv[2] });",
        '  const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });',
        "  await producer.publish('cjs', 'from require');",
        '  const text = await new Promise((resolve) => {',
        "    const consumer = new Consumer({ topic: 'cjs', channel: 'c', nsqdTcpAddresses: [broker.tcpAddress] }, (message) => {",
        '      resolve(message.text());',
        '      setImmediate(() => consumer.close());',
        '    });',
        '    consumer.start();',
        '  });',
        '  await producer.close();',
        '  await broker.close();',
        '  console.log(text);',
        '})();',
        '',
      ].join('\n'),
    );
    expect((await project.exec(process.execPath, ['publish.cjs', project.path('data-cjs')])).stdout.trim()).toBe('from require');

    await project.write(
      'src/app.ts',
      [
        "import { Producer, startBroker, type BrokerHandle } from 'nsqworker';",
        'async function main(): Promise<void> {',
        "  const broker: BrokerHandle = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: process.argv[2]! });",
        '  const producer = new Producer({ nsqdTcpAddresses: [broker.tcpAddress] });',
        "  await producer.publish('cts', 'from a CommonJS TypeScript app');",
        '  await producer.close();',
        '  await broker.close();',
        "  console.log('published');",
        '}',
        'void main();',
        '',
      ].join('\n'),
    );
    await project.write(
      'tsconfig.json',
      // The declarations were checked whole above, from the same files; here, what a require of them resolves to.
      JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, types: ['node'], outDir: 'out', rootDir: 'src', skipLibCheck: true }, include: ['src'] }),
    );
    await project.exec(process.execPath, [TSC5(project), '-p', 'tsconfig.json']);
    expect(await readFile(project.path('out/app.js'), 'utf8')).toContain('require("nsqworker")');
    expect((await project.exec(process.execPath, ['out/app.js', project.path('data-cts')])).stdout.trim()).toBe('published');
  }, 120_000);

  it("README's client snippet runs as written, and exits by itself; as publish.mts it type-checks under tsc --init", async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const snippet = /```js\n(import \{ Consumer, Producer \} from 'nsqworker';[\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const project = await installed.project('module');
    const { startBroker } = await import('../../broker/nsqd/server.ts');
    const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: project.path('data') });
    try {
      await project.write('publish.mjs', snippet!.replaceAll('127.0.0.1:4150', broker.tcpAddress));
      const { stdout } = await project.exec(process.execPath, ['publish.mjs']);
      expect(stdout.trim().split('\n').sort()).toEqual(['1 a', '1 b', '1 later', '1 {"kind":"signup"}']);
      // The README tells TypeScript users to save it as publish.mts: strict, as tsc --init sets it up.
      await project.write('publish.mts', snippet!);
      const strict = { compilerOptions: { module: 'nodenext', target: 'esnext', strict: true, types: ['node'], noEmit: true, skipLibCheck: true }, files: ['publish.mts'] };
      await project.write('tsconfig.snippet.json', JSON.stringify(strict));
      expect(await typeCheck(project, TSC7, 'tsconfig.snippet.json')).toBe('');
    } finally {
      await broker.close();
    }
  }, 60_000);

  it('examples/publish-app publishes PUB, MPUB and DPUB to its worker, and a publish made while the broker restarts arrives', async () => {
    const project = await installed.project('module');
    for (const entry of ['package.json', 'server.js', 'workers']) {
      await cp(path.join(REPO_ROOT, 'examples/publish-app', entry), project.path(entry), { recursive: true });
    }
    const dataPath = project.path('data');
    const worker = project.start(project.bin, ['--topic', 'signups', '--channel', 'welcome', '--broker-tcp-address', '127.0.0.1:0', '--broker-http-address', '127.0.0.1:0', '--data-path', dataPath]);
    const listening = await worker.waitForMessage('embedded broker listening', {}, 30_000);
    const tcpAddress = String(listening.tcpAddress);
    const httpAddress = String(listening.httpAddress);
    await worker.waitForMessage('subscribed', {}, 30_000);

    const app = project.start(process.execPath, ['server.js'], { NSQD_TCP_ADDRESSES: tcpAddress, PORT: '0' });
    const appUrl = await eventually(() => app.text.map((line) => /listening on (http:\S+),/.exec(line)?.[1]).find(Boolean), 'the app to listen', 30_000);
    const post = async (pathAndQuery: string, body?: string): Promise<number> => (await fetch(`${appUrl}${pathAndQuery}`, { method: 'POST', body })).status;

    expect(await post('/signup?email=ada@example.com')).toBe(202);
    expect(await post('/signups', JSON.stringify(['grace@example.com', 'alan@example.com']))).toBe(202);
    expect(await post('/reminder?email=ada@example.com&delayMs=200')).toBe(202);
    expect(await post('/signups', 'not json')).toBe(400);
    for (const email of ['ada@example.com', 'grace@example.com', 'alan@example.com']) await worker.waitForMessage('welcome email sent', { email }, 30_000);
    await worker.waitForMessage('reminder email sent', { email: 'ada@example.com' }, 30_000);

    // The worker, and the broker inside it, go away; a publish made meanwhile waits in the app's retries.
    worker.kill('SIGTERM');
    expect((await worker.waitForExit(30_000)).code).toBe(0);
    const late = post('/signup?email=late@example.com');
    await eventually(() => (app.stderr.includes('publish attempt failed') ? true : undefined), 'a failed attempt', 30_000);
    const restarted = project.start(project.bin, ['--topic', 'signups', '--channel', 'welcome', '--broker-tcp-address', tcpAddress, '--broker-http-address', httpAddress, '--data-path', dataPath]);
    expect(await late).toBe(202);
    await restarted.waitForMessage('welcome email sent', { email: 'late@example.com' }, 30_000);
  }, 120_000);
});
