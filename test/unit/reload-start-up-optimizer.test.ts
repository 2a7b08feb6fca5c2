import { describe, expect, it } from 'vitest';
import { optimizerOffWhileStarting } from '../../runner/reload/start-up-optimizer.ts';

const MARK = 'NSQWORKER_HOST_OPTIMIZER_OFF_WHILE_STARTING';

describe("a reload child's start-up optimizer flag", () => {
  it("is added after the runner's own flags when they say nothing of the optimizer, and marked", () => {
    expect(optimizerOffWhileStarting([], { PATH: '/bin' })).toEqual({ execArgv: ['--no-turbofan'], env: { PATH: '/bin', [MARK]: '1' } });
    const { execArgv } = optimizerOffWhileStarting(['--import', 'tsx', '--max-old-space-size=512', '--node-memory-debug'], { NODE_OPTIONS: '--enable-source-maps' });
    expect(execArgv).toEqual(['--import', 'tsx', '--max-old-space-size=512', '--node-memory-debug', '--no-turbofan']);
  });

  it('is left out, and nothing marked, when the runner was given one, in any spelling V8 reads', () => {
    for (const flag of ['--no-turbofan', '--noturbofan', '--no_turbofan', '--turbofan', '--noopt', '--no-opt', '--max-opt=999', '--max_opt=0', '--jitless', '--no-maglev', '--no-sparkplug']) {
      const env = { PATH: '/bin' };
      expect(optimizerOffWhileStarting(['--inspect', flag], env), flag).toEqual({ execArgv: ['--inspect', flag], env });
    }
  });

  it('is left out when NODE_OPTIONS has --jitless', () => {
    const env = { NODE_OPTIONS: '--enable-source-maps  --jitless' };
    expect(optimizerOffWhileStarting([], env)).toEqual({ execArgv: [], env });
  });
});
