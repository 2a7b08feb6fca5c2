/**
 * Which failed loads are the code's own fault, the same in any process (load-failure.ts): a load
 * beside older code that fails otherwise is tried in a fresh child first (reloading-executor.ts).
 */
import { describe, expect, it } from 'vitest';
import { failsInAnyProcess } from '../../runner/worker/load-failure.ts';

const coded = (code: string, message = 'failed'): Error => Object.assign(new Error(message), { code });

describe('failsInAnyProcess', () => {
  it('is true for code that does not compile, a missing import, no worker, and refused options or config', () => {
    expect(failsInAnyProcess(new Error('Transform failed with 1 error:\n/srv/app/lib/helper.ts:1:21: ERROR: Unexpected ";"'))).toBe(true);
    expect(failsInAnyProcess(new SyntaxError("Unexpected token ';'"))).toBe(true);
    for (const code of ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'E_WORKER_INVALID', 'E_USAGE', 'E_CONFIG_INVALID']) expect(failsInAnyProcess(coded(code)), code).toBe(true);
  });

  it('is false for what a module throws as it runs, which may come of the process, and for a thrown value', () => {
    expect(failsInAnyProcess(new Error('A metric with the name jobs_total has already been registered.'))).toBe(false);
    expect(failsInAnyProcess(coded('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:9464'))).toBe(false);
    expect(failsInAnyProcess(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(failsInAnyProcess('a string')).toBe(false);
  });
});
