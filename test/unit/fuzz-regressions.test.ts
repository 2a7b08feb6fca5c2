/**
 * Replays what the coverage-guided fuzzer (`npm run bench fuzz`) found: every input it saved in
 * test/fuzz-regressions/<target>/ once failed its target (an unexpected error, a broken invariant or
 * a hang), and must now pass it, deterministically. Each target's seed corpus is replayed too, so a
 * target whose own checks went wrong shows here before a long run wastes its time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FUZZ_TARGETS } from '../support/fuzz/targets/index.ts';
import { savedInputs } from '../support/fuzz/regressions.ts';
import { execute, type FuzzTarget } from '../support/fuzz/target.ts';

const DEADLINE_MS = 2000;

for (const [name, create] of FUZZ_TARGETS) {
  describe(`fuzz target ${name}`, () => {
    let target: FuzzTarget | undefined;
    const get = (): FuzzTarget => (target ??= create());
    afterAll(async () => {
      await target?.close();
    });

    it('passes its seed corpus', async () => {
      const failures: string[] = [];
      for (const seed of get().seeds()) {
        const failure = await execute(get(), seed.subarray(0, get().maxLength), DEADLINE_MS);
        if (failure !== undefined) failures.push(`${failure.signature} on ${seed.toString('hex').slice(0, 80)}`);
      }
      expect(failures).toEqual([]);
    });

    for (const [file, input] of savedInputs(name)) {
      it(`passes ${file}`, async () => {
        const failure = await execute(get(), input, DEADLINE_MS);
        expect(failure?.message).toBeUndefined();
      });
    }
  });
}
