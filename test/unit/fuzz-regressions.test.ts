/**
 * Replays what the coverage-guided fuzzer (`npm run bench fuzz`) found: every input it saved in
 * test/fuzz-regressions/<target>/ once failed its target (an unexpected error, a broken invariant or
 * a hang), and must now pass it, deterministically. Each target's seed corpus is replayed too, so a
 * target whose own checks went wrong shows here before a long run wastes its time, and so are a few
 * hundred mutants of it from a fixed seed (the fuzzer's mutations without its coverage guidance:
 * the same inputs every run, a second or two in all).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FUZZ_TARGETS } from '../support/fuzz/targets/index.ts';
import { savedInputs } from '../support/fuzz/regressions.ts';
import { execute, type FuzzTarget } from '../support/fuzz/target.ts';
import { Mutator } from '../support/fuzz/mutator.ts';
import { seededRandom } from '../support/prng.ts';

const DEADLINE_MS = 2000;
/** Mutants per target; disk-queue runs touch files and get fewer. */
const MUTANTS = 200;

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

    it('passes mutants of its seed corpus from a fixed seed', async () => {
      const random = seededRandom(0x5eed);
      const seeds = get().seeds();
      const mutator = new Mutator(random, get().dictionary, get().maxLength);
      const pick = (): Buffer => seeds[Math.floor(random() * seeds.length)]!;
      const failures: string[] = [];
      for (let i = 0; i < (name === 'disk-queue' ? MUTANTS / 4 : MUTANTS); i++) {
        const input = mutator.mutate(pick(), pick);
        const failure = await execute(get(), input, DEADLINE_MS);
        if (failure !== undefined) failures.push(`${failure.signature} on ${input.toString('hex')}`);
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
