/**
 * The package as a user gets it: `npm pack` of this repository, installed offline from npm's cache
 * into a fresh folder with `npm ci` (a lock file made from this repository's, so no registry is
 * asked), and fresh projects made with `npm init -y` that use that install.
 *
 * The pack uses the build in dist/ as it is: `npm test` builds first. Run `npm run build` before
 * running this folder's tests alone.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CliRun, ProjectFolder, REPO_ROOT } from '../integration/helpers/cli-project.ts';

const run = promisify(execFile);

interface LockEntry {
  version?: string;
  dev?: boolean;
  [key: string]: unknown;
}

/** One offline install of the packed tarball (plus TypeScript 5 and @types/node), shared by the projects of a test file. */
export class InstalledPackage {
  private readonly dirs: string[] = [];
  private readonly runs: CliRun[] = [];
  private constructor(
    readonly root: string,
    readonly tarball: string,
  ) {}

  /** The files `npm pack` ships, as paths inside the tarball. */
  packedFiles: string[] = [];

  static async install(): Promise<InstalledPackage> {
    if (!existsSync(path.join(REPO_ROOT, 'dist/bundle/index.js'))) throw new Error('no build in dist/: run `npm run build` first (npm test does)');
    const root = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-pkg-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    const packed = (JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    const installed = new InstalledPackage(root, path.join(root, packed.filename));
    installed.packedFiles = packed.files.map((file) => file.path);
    await installed.writeLockedProject(path.join(root, 'install'));
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: path.join(root, 'install') });
    return installed;
  }

  /** package.json and package-lock.json that pin the tarball and the versions this repository locked. */
  private async writeLockedProject(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    const dependencies = {
      nsqworker: `file:${this.tarball}`,
      '@types/node': lock.packages['node_modules/@types/node']!.version!,
      typescript5: `npm:typescript@${lock.packages['node_modules/typescript5']!.version!}`,
    };
    const packages: Record<string, unknown> = { '': { name: 'install', version: '1.0.0', dependencies } };
    // The package's own dependencies, as locked here (what `npm ci` put in npm's cache).
    for (const [key, entry] of Object.entries(lock.packages)) if (key !== '' && entry.dev !== true) packages[key] = entry;
    for (const key of ['node_modules/@types/node', 'node_modules/undici-types', 'node_modules/typescript5']) {
      const { dev: _dev, ...entry } = lock.packages[key]!;
      packages[key] = entry;
    }
    packages['node_modules/nsqworker'] = {
      version: manifest.version,
      resolved: `file:${this.tarball}`,
      integrity: `sha512-${createHash('sha512').update(await readFile(this.tarball)).digest('base64')}`,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    };
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'install', version: '1.0.0', dependencies }, null, 2));
    await writeFile(path.join(dir, 'package-lock.json'), JSON.stringify({ name: 'install', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  }

  /** node_modules of the install. */
  get nodeModules(): string {
    return path.join(this.root, 'install/node_modules');
  }

  /** package.json as `npm init -y` wrote it for this install's first project. */
  private initManifest: Record<string, unknown> | undefined;

  /**
   * A new project: `npm init -y` (CommonJS, as npm writes it), then `type` if given, with the
   * install's node_modules. npm runs once per install (0.6 s of CPU each): later projects get what
   * it wrote, named after their own folder as npm names it, and `type` set or deleted as
   * `npm pkg` would.
   */
  async project(type?: 'module' | 'commonjs' | 'none'): Promise<UserProject> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nsqworker-user-'));
    this.dirs.push(dir);
    const manifestFile = path.join(dir, 'package.json');
    if (this.initManifest === undefined) {
      await run('npm', ['init', '-y'], { cwd: dir });
      this.initManifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    }
    const manifest: Record<string, unknown> = { ...this.initManifest, name: path.basename(dir).toLowerCase() };
    if (type === 'module' || type === 'commonjs') manifest.type = type;
    if (type === 'none') delete manifest.type;
    await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    await symlink(this.nodeModules, path.join(dir, 'node_modules'), 'dir');
    return new UserProject(dir, (child) => this.runs.push(child));
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.runs.splice(0).map(async (child) => {
        child.kill('SIGKILL');
        await child.exited;
      }),
    );
    await Promise.all([...this.dirs.splice(0), this.root].map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** A user's project folder. */
export class UserProject extends ProjectFolder {
  constructor(
    dir: string,
    private readonly track: (run: CliRun) => void,
  ) {
    super(dir);
  }

  /**
   * Starts a long-running command in the project (`npx ...`, `node ...`), its stdout read as JSON lines;
   * with `ownGroup`, in a process group of its own, which a test may signal as a whole.
   */
  start(command: string, args: readonly string[], env: Record<string, string> = {}, { ownGroup = false } = {}): CliRun {
    const childEnv: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('NSQWORKER_') && !key.startsWith('npm_')) childEnv[key] = value;
    const child = new CliRun(spawn(command, args, { cwd: this.dir, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup }));
    this.track(child);
    return child;
  }

  /**
   * The installed `nsqworker` bin (what `npx nsqworker` runs). Tests run it directly: npx does not
   * pass SIGTERM on to the command it started.
   */
  get bin(): string {
    return this.path('node_modules/.bin/nsqworker');
  }

  /** `nsqworker --topic T --channel C` on an embedded broker on free ports. */
  startWorker(topic: string, channel: string, args: readonly string[] = []): CliRun {
    return this.start(this.bin, [
      '--topic',
      topic,
      '--channel',
      channel,
      '--broker-tcp-address',
      '127.0.0.1:0',
      '--broker-http-address',
      '127.0.0.1:0',
      '--data-path',
      this.path(`data-${topic}-${channel}`),
      ...args,
    ]);
  }

  /** Runs a command to its end; rejects with its output when it exits non-zero. */
  async exec(command: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
    try {
      return await run(command, args, { cwd: this.dir, maxBuffer: 16 << 20 });
    } catch (error) {
      const failed = error as Error & { stdout?: string; stderr?: string };
      throw new Error(`${command} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
    }
  }
}

/** Publishes one message through an nsqd HTTP address. */
export async function publishOverHttp(httpAddress: string, topic: string, body: string): Promise<void> {
  const response = await fetch(`http://${httpAddress}/pub?topic=${topic}`, { method: 'POST', body });
  if (!response.ok) throw new Error(`/pub answered ${response.status}: ${await response.text()}`);
}
