/**
 * A signal that comes while a command starts (runner/ops/shutdown.ts's startHoldingSignals), in a
 * real child process that signals itself: held, then delivered to the command's own handlers once
 * the start is done, including one caught in the very turn of the event loop that hands over; a
 * second one during the start exits 130; a start that leaves nothing running drops it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const shutdownModule = pathToFileURL(path.join(repoRoot, 'runner/ops/shutdown.ts')).href;
const dir = mkdtempSync(path.join(os.tmpdir(), 'nsqworker-start-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A process that starts with `startHoldingSignals`; `during` runs inside the start, after its
 * `await`s, in the turn that resolves it. Prints "stopped by SIGTERM" from its own handler, or
 * "lost" if nothing handled the signal within 2 s.
 */
async function run(name: string, during: string, startsSomething = true): Promise<{ code: number | null; stdout: string }> {
  const script = path.join(dir, `${name}.mts`);
  writeFileSync(
    script,
    `import { startHoldingSignals } from ${JSON.stringify(shutdownModule)};
const lost = setTimeout(() => { console.log('lost'); process.exit(3); }, 2000);
await startHoldingSignals(
  async () => {
    await new Promise((resolve) => setImmediate(resolve));
    ${during}
    return ${startsSomething ? "'running'" : 'undefined'};
  },
  () => process.on('SIGTERM', (signal) => { console.log('stopped by ' + signal); process.exit(0); }),
);
${startsSomething ? '' : "clearTimeout(lost); console.log('nothing started');"}
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout: stdout.trim() };
}

describe('a signal during start-up', () => {
  it('that came a turn before the start ended reaches the command once it has started', async () => {
    const during = "process.kill(process.pid, 'SIGTERM'); await new Promise((resolve) => setImmediate(resolve));";
    expect(await run('earlier-turn', during)).toEqual({ code: 0, stdout: 'stopped by SIGTERM' });
  });

  it('that came in the turn that ends the start is not lost in the hand-over', async () => {
    // Caught by Node now, delivered on the next turn: by then the holding handler has gone.
    expect(await run('same-turn', "process.kill(process.pid, 'SIGTERM');")).toEqual({ code: 0, stdout: 'stopped by SIGTERM' });
  });

  it('a second one exits 130 at once', async () => {
    const during = "process.kill(process.pid, 'SIGTERM'); await new Promise((resolve) => setImmediate(resolve)); process.kill(process.pid, 'SIGINT'); await new Promise(() => {});";
    expect(await run('second', during)).toEqual({ code: 130, stdout: '' });
  });

  it('is dropped when the start leaves nothing running', async () => {
    const during = "process.kill(process.pid, 'SIGTERM'); await new Promise((resolve) => setImmediate(resolve));";
    expect(await run('nothing', during, false)).toEqual({ code: 0, stdout: 'nothing started' });
  });
});
