/**
 * A reload child paused and resumed (runner/reload/host-process.ts), as the standby pool does with
 * the standbys still starting while a reload loads: a real child, its state read from /proc. Paused,
 * it is stopped; resumed, it starts up and gets warm; closed while paused, it runs its close and
 * exits on its own, not at the close's deadline; and paused when its runner is killed (SIGKILL),
 * it is continued (runner/reload/stop-guard.ts) and exits, not left stopped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually } from './helpers/cli-project.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const hostProcessModule = pathToFileURL(path.join(repoRoot, 'runner/reload/host-process.ts')).href;
const dir = mkdtempSync(path.join(os.tmpdir(), 'nsqworker-host-pause-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The script's process group (it and the child it starts), killed whatever the outcome. */
let group: number | undefined;
afterEach(() => {
  if (group === undefined) return;
  try {
    process.kill(-group, 'SIGKILL');
  } catch {
    // Gone already.
  }
  group = undefined;
});

const script = `import { readFileSync } from 'node:fs';
import { HostProcess } from ${JSON.stringify(hostProcessModule)};
/** The one-letter state of a process: T when stopped. */
const state = (pid) => readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1][0];
async function until(what, check) {
  const deadline = Date.now() + 15000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting until ' + what);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const host = new HostProcess('module');
const seen = [];
host.pause();
await until('stopped', () => state(host.pid) === 'T');
seen.push('stopped');
host.resume();
await until('running again', () => state(host.pid) !== 'T');
await host.warm;
seen.push('warm');
host.pause();
await until('stopped again', () => state(host.pid) === 'T');
// A deadline far past the test's own: only a close that resumes the child ends in time.
await host.close(600000);
seen.push('closed');
await until('exited', () => host.hasExited);
seen.push('exited');
console.log(JSON.stringify(seen));
`;

/** Runs `source` as a runner of its own (its own process group, killed after the test); its output as it comes. */
function startRunner(name: string, source: string): { child: ReturnType<typeof spawn>; output: () => { stdout: string; stderr: string } } {
  const file = path.join(dir, `${name}.mts`);
  writeFileSync(file, source);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  group = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, output: () => ({ stdout, stderr }) };
}

/** The one-letter state of process `pid` (T: stopped, Z: exited, not yet reaped), or undefined once it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
  } catch {
    return undefined;
  }
}

/** Polls `check` until it holds (cli-project.ts's eventually, for a condition). */
function until(what: string, check: () => boolean): Promise<true> {
  return eventually(() => (check() ? true : undefined), what);
}

describe.runIf(process.platform === 'linux')('a reload child paused', () => {
  it('is stopped until resumed, then gets warm, and closes on its own while paused', async () => {
    const { child, output } = startRunner('pause', script);
    const [code] = (await once(child, 'exit')) as [number | null];
    expect({ code, seen: output().stdout.trim() }, output().stderr).toEqual({ code: 0, seen: '["stopped","warm","closed","exited"]' });
  }, 30_000);

  it('is continued when its runner is killed, and exits', async () => {
    const { child, output } = startRunner(
      'killed-runner',
      `import { HostProcess } from ${JSON.stringify(hostProcessModule)};
const host = new HostProcess('module');
host.pause();
console.log(JSON.stringify({ pid: host.pid }));
setInterval(() => {}, 1000);
`,
    );
    await until('the runner tells the child', () => output().stdout.includes('\n'));
    const { pid } = JSON.parse(output().stdout) as { pid: number };
    await until('the child is stopped', () => stateOf(pid) === 'T');
    child.kill('SIGKILL');
    await until(`the child is gone (state ${stateOf(pid)})`, () => stateOf(pid) === undefined || stateOf(pid) === 'Z');
    // Quietly: the child's stderr is the killed runner's, still read here.
    expect(output().stderr).not.toMatch(/Error/);
  }, 30_000);
});
