import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optimizerOffWhileStarting } from '../../runner/reload/start-up-optimizer.ts';

const MARK = 'NSQWORKER_HOST_OPTIMIZER_OFF_WHILE_STARTING';

describe("a reload child's start-up optimizer flag, as the runner forks it", () => {
  it("is added after the runner's own flags when they say nothing of the optimizer, and marked", () => {
    expect(optimizerOffWhileStarting([], { PATH: '/bin' })).toEqual({ execArgv: ['--no-turbofan'], env: { PATH: '/bin', [MARK]: '1' } });
    const { execArgv } = optimizerOffWhileStarting(['--max-old-space-size=512', '--node-memory-debug', '--no-warnings'], { NODE_OPTIONS: '--enable-source-maps' });
    expect(execArgv).toEqual(['--max-old-space-size=512', '--node-memory-debug', '--no-warnings', '--no-turbofan']);
  });

  it('is left out, and nothing marked, when the runner was given one, in any spelling V8 reads', () => {
    for (const flag of ['--no-turbofan', '--noturbofan', '--no_turbofan', '--turbofan', '--noopt', '--no-opt', '--max-opt=999', '--max_opt=0', '--jitless', '--lite-mode', '--no-maglev', '--no-sparkplug']) {
      const env = { PATH: '/bin' };
      expect(optimizerOffWhileStarting(['--inspect', flag], env), flag).toEqual({ execArgv: ['--inspect', flag], env });
    }
  });

  it('is left out when code is preloaded, by flag or NODE_OPTIONS, or NODE_OPTIONS has --jitless', () => {
    for (const preload of [['--import', 'tsx'], ['--import=tsx'], ['-r', 'dotenv/config'], ['--require', 'x'], ['--loader', 'y']]) {
      expect(optimizerOffWhileStarting(preload, {}).execArgv, preload.join(' ')).toEqual(preload);
    }
    for (const nodeOptions of ['--require dotenv/config', '--enable-source-maps  --jitless']) {
      expect(optimizerOffWhileStarting([], { NODE_OPTIONS: nodeOptions })).toEqual({ execArgv: [], env: { NODE_OPTIONS: nodeOptions } });
    }
  });

  it('drops a mark the runner inherited, whether it adds the flag or not', () => {
    expect(optimizerOffWhileStarting(['--no-turbofan'], { [MARK]: '1' })).toEqual({ execArgv: ['--no-turbofan'], env: {} });
    expect(optimizerOffWhileStarting([], { [MARK]: '1' }).env).toEqual({ [MARK]: '1' });
  });
});

describe('a child started with --no-turbofan, once warm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsqworker-optimizer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Turns the optimizer on as a warm child does, then asks V8 whether a hot function is optimized
  // (bit 16 of %GetOptimizationStatus, V8's runtime-test.cc).
  const script = join(dir, 'child.mts');
  writeFileSync(
    script,
    [
      `import { setFlagsFromString } from 'node:v8';`,
      `import { optimizerOnOnceStarted } from ${JSON.stringify(join(process.cwd(), 'runner/reload/start-up-optimizer.ts'))};`,
      `optimizerOnOnceStarted();`,
      `setFlagsFromString('--allow-natives-syntax');`,
      `const status = new Function('function hot(x) { return x * 2 + 1; } %PrepareFunctionForOptimization(hot); hot(1); hot(2); %OptimizeFunctionOnNextCall(hot); hot(3); return %GetOptimizationStatus(hot);')();`,
      `console.log(JSON.stringify({ optimized: (status & 16) !== 0, execArgv: process.execArgv.slice(2), mark: process.env.${MARK} ?? null }));`,
    ].join('\n'),
  );
  const run = (env: Record<string, string>): unknown =>
    JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--no-turbofan', script], { env: { ...process.env, ...env }, encoding: 'utf8' }));

  it('turns it on and drops flag and mark when its runner marked the flag as its own', () => {
    expect(run({ [MARK]: '1' })).toEqual({ optimized: true, execArgv: [], mark: null });
  });

  it("keeps the user's own --no-turbofan when there is no mark", () => {
    expect(run({})).toEqual({ optimized: false, execArgv: ['--no-turbofan'], mark: null });
  });
});
