import { describe, expect, it } from 'vitest';
import { childExecArgv } from '../../runner/reload/start-up-optimizer.ts';

describe("a reload child's start-up optimizer flag", () => {
  it('is added after the runner’s own flags when they say nothing of the optimizer', () => {
    expect(childExecArgv([])).toEqual(['--no-turbofan']);
    expect(childExecArgv(['--import', 'tsx', '--max-old-space-size=512', '--node-memory-debug'], '--enable-source-maps')).toEqual([
      '--import',
      'tsx',
      '--max-old-space-size=512',
      '--node-memory-debug',
      '--no-turbofan',
    ]);
  });

  it('is left out when the runner was given one, in any spelling V8 reads', () => {
    for (const flag of ['--no-turbofan', '--noturbofan', '--no_turbofan', '--turbofan', '--noopt', '--no-opt', '--max-opt=999', '--max_opt=0', '--jitless', '--no-maglev', '--no-sparkplug']) {
      expect(childExecArgv(['--inspect', flag]), flag).toEqual(['--inspect', flag]);
    }
  });

  it('is left out when NODE_OPTIONS has --jitless', () => {
    expect(childExecArgv([], '--enable-source-maps  --jitless')).toEqual([]);
  });
});
