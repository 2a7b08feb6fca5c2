/**
 * One fuzz target's loop, in a worker thread started by bench/fuzz.ts: seeds first, then mutants of
 * the corpus; an input that shows new coverage joins the corpus (and goes to the parent, which keeps
 * it across restarts); a failing input is shrunk and sent to the parent once per signature. Before
 * each run the input is copied into shared memory, so that when a synchronous hang stops this thread
 * the parent can still name the input that hung.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Coverage } from '../../test/support/fuzz/coverage.ts';
import { Mutator } from '../../test/support/fuzz/mutator.ts';
import { execute, type Failure } from '../../test/support/fuzz/target.ts';
import { seededRandom } from '../../test/support/prng.ts';

export interface FuzzWorkerData {
  target: string;
  seconds: number;
  seed: number;
  deadlineMs: number;
  /** Inputs to start from besides the target's seeds: the corpus so far and saved failures. */
  corpus: Uint8Array[];
  /** [run count, input length] as int32, then the input's bytes. */
  shared: SharedArrayBuffer;
}

export type FuzzWorkerMessage =
  | { type: 'corpus'; input: Uint8Array }
  | { type: 'failure'; input: Uint8Array; failure: Failure }
  | { type: 'stats'; execs: number; corpus: number; blocks: number; functions: number; done: boolean };

/** Attempts spent shrinking one failing input. */
const SHRINK_BUDGET = 400;

// Coverage starts before the targets load: only code compiled after this has block counters.
const coverage = new Coverage();
const { FUZZ_TARGETS } = await import('../../test/support/fuzz/targets/index.ts');
const data = workerData as FuzzWorkerData;
const target = FUZZ_TARGETS.get(data.target)!();
coverage.select(target.coverage);
const header = new Int32Array(data.shared, 0, 2);
const bytes = new Uint8Array(data.shared, 8);
const random = seededRandom(data.seed);
const mutator = new Mutator(random, target.dictionary, target.maxLength);
const corpus: Buffer[] = [];
const signatures = new Set<string>();
let execs = 0;
const post = (message: FuzzWorkerMessage): void => parentPort!.postMessage(message);

async function run(input: Buffer): Promise<Failure | undefined> {
  bytes.set(input);
  Atomics.store(header, 1, input.length);
  Atomics.add(header, 0, 1);
  execs++;
  return execute(target, input, data.deadlineMs);
}

/** The smallest input found by cutting runs out of `input` that still fails the same way. */
async function shrink(input: Buffer, failure: Failure): Promise<Buffer> {
  let best = input;
  let budget = SHRINK_BUDGET;
  for (let size = best.length >> 1; size >= 1 && budget > 0; size >>= 1) {
    for (let at = 0; at + size <= best.length && budget-- > 0; ) {
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + size)]);
      const again = await run(candidate);
      coverage.collect();
      if (again?.signature === failure.signature) best = candidate;
      else at += size;
    }
  }
  return best;
}

async function consider(input: Buffer): Promise<void> {
  let failure = await run(input);
  const fresh = coverage.collect();
  // A slow run on a loaded machine is not a hang until it is slow again.
  if (failure?.kind === 'hang') {
    failure = await run(input);
    coverage.collect();
  }
  if (failure !== undefined) {
    if (signatures.has(failure.signature)) return;
    signatures.add(failure.signature);
    const small = failure.kind === 'hang' ? input : await shrink(input, failure);
    post({ type: 'failure', input: small, failure });
  } else if (fresh > 0 || corpus.length === 0) {
    corpus.push(input);
    post({ type: 'corpus', input });
  }
}

const stats = (done: boolean): FuzzWorkerMessage => ({
  type: 'stats',
  execs,
  corpus: corpus.length,
  blocks: coverage.coveredBlocks,
  functions: coverage.coveredFunctions,
  done,
});

const endAt = Date.now() + data.seconds * 1000;
for (const input of [...target.seeds(), ...data.corpus.map((entry) => Buffer.from(entry))]) {
  await consider(input.subarray(0, target.maxLength));
}
const pick = (): Buffer => corpus[Math.floor(random() * corpus.length)]!;
while (Date.now() < endAt) {
  for (let i = 0; i < 50; i++) await consider(mutator.mutate(pick(), pick));
  post(stats(false));
}
await target.close();
coverage.close();
post(stats(true));
