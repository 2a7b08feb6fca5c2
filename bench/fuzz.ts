/**
 * `npm run bench fuzz` (only when named: long). Coverage-guided fuzzing of the parsers and decoders
 * that read what peers and disks send (test/support/fuzz/targets/), one target at a time in a worker
 * thread (bench/lib/fuzz-worker.ts) guided by V8's precise block coverage.
 *
 * A failure is an error other than the target's own answer to bad input, a broken invariant, or a
 * hang: an asynchronous answer later than BENCH_FUZZ_DEADLINE_MS (2,000), or a synchronous run the
 * watchdog sees stuck for BENCH_FUZZ_HANG_MS (10,000), after which the worker is replaced and carries
 * on from the corpus. Each failing input, shrunk, is written to test/fuzz-regressions/<target>/ (a
 * `.bin` replayed by test/unit/fuzz-regressions.test.ts, and a `.txt` saying what failed), once per
 * cause. Environment: BENCH_FUZZ_SECONDS per target (60), BENCH_FUZZ_TARGETS (all, comma-separated),
 * BENCH_FUZZ_SEED (the time).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { FUZZ_TARGETS } from '../test/support/fuzz/targets/index.ts';
import { saveInput, savedInputs } from '../test/support/fuzz/regressions.ts';
import type { FuzzWorkerData, FuzzWorkerMessage } from './lib/fuzz-worker.ts';

export interface FuzzRow {
  target: string;
  execs: number;
  seconds: number;
  corpus: number;
  blocks: number;
  functions: number;
  failures: string[];
  restarts: number;
}

const SECONDS = Number(process.env.BENCH_FUZZ_SECONDS ?? 60);
const DEADLINE_MS = Number(process.env.BENCH_FUZZ_DEADLINE_MS ?? 2000);
const HANG_MS = Number(process.env.BENCH_FUZZ_HANG_MS ?? 10_000);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Room for the longest input of any target. */
const MAX_INPUT = 1 << 16;
const WORKER = new URL('./lib/fuzz-worker.ts', import.meta.url).href;
const TSX = import.meta.resolve('tsx/esm/api');
const progress = (line: string): void => void process.stderr.write(`[fuzz] ${line}\n`);

/** One worker until it finishes its time, dies, or hangs. Resolves with what it last reported. */
function runWorker(name: string, seconds: number, seed: number, corpus: Map<string, Uint8Array>, row: FuzzRow): Promise<void> {
  const shared = new SharedArrayBuffer(8 + MAX_INPUT);
  const header = new Int32Array(shared, 0, 2);
  const current = (): Uint8Array => new Uint8Array(shared, 8, Atomics.load(header, 1)).slice();
  const data: FuzzWorkerData = { target: name, seconds, seed, deadlineMs: DEADLINE_MS, corpus: [...corpus.values(), ...savedInputs(name, false).values()], shared };
  const bootstrap = `import(${JSON.stringify(TSX)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: data });
  const startExecs = row.execs;
  const signatures = new Set(row.failures);
  const fail = (input: Uint8Array, kind: string, signature: string, message: string): void => {
    if (signatures.has(signature)) return;
    signatures.add(signature);
    row.failures.push(signature);
    progress(`${name}: ${signature} → ${saveInput(name, input, kind, `${signature}\n\n${message}`)}`);
  };
  return new Promise((resolve) => {
    let lastRun = Atomics.load(header, 0);
    let lastChange = Date.now();
    let ended = false;
    const watchdog = setInterval(() => {
      const run = Atomics.load(header, 0);
      if (run !== lastRun) {
        lastRun = run;
        lastChange = Date.now();
      } else if (run > 0 && Date.now() - lastChange > HANG_MS) {
        fail(current(), 'hang', `hang: one run took over ${HANG_MS} ms`, 'the worker was stopped in the middle of this input');
        ended = true;
        void worker.terminate();
      }
    }, 250);
    worker.on('message', (message: FuzzWorkerMessage) => {
      if (message.type === 'corpus') corpus.set(createHash('sha1').update(message.input).digest('hex'), message.input);
      else if (message.type === 'failure') fail(message.input, message.failure.kind, message.failure.signature, message.failure.message);
      else {
        row.execs = startExecs + message.execs;
        row.corpus = Math.max(row.corpus, message.corpus);
        row.blocks = Math.max(row.blocks, message.blocks);
        row.functions = Math.max(row.functions, message.functions);
      }
    });
    worker.on('error', (error) => {
      if (!ended) fail(current(), 'crash', `uncaught ${error.name}: ${error.message.replace(/\d+/g, 'N').slice(0, 120)}`, String(error.stack));
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      resolve();
    });
  });
}

async function fuzzTarget(name: string): Promise<FuzzRow> {
  const row: FuzzRow = { target: name, execs: 0, seconds: 0, corpus: 0, blocks: 0, functions: 0, failures: [], restarts: 0 };
  const corpus = new Map<string, Uint8Array>();
  const started = Date.now();
  for (;;) {
    const left = SECONDS - (Date.now() - started) / 1000;
    if (left <= 1 || row.restarts > 20) break;
    await runWorker(name, left, SEED + row.restarts, corpus, row);
    if (SECONDS - (Date.now() - started) / 1000 > 1) row.restarts++;
  }
  row.seconds = (Date.now() - started) / 1000;
  progress(`${name}: ${row.execs} runs, corpus ${row.corpus}, ${row.failures.length} failures`);
  return row;
}

export async function fuzzBenchmark(): Promise<FuzzRow[]> {
  const names = process.env.BENCH_FUZZ_TARGETS?.split(',') ?? [...FUZZ_TARGETS.keys()];
  const unknown = names.filter((name) => !FUZZ_TARGETS.has(name));
  if (unknown.length > 0) throw new Error(`unknown fuzz targets: ${unknown.join(', ')} (known: ${[...FUZZ_TARGETS.keys()].join(', ')})`);
  progress(`seed ${SEED}, ${SECONDS} s per target`);
  const rows: FuzzRow[] = [];
  for (const name of names) rows.push(await fuzzTarget(name));
  return rows;
}

export function printFuzzTable(rows: readonly FuzzRow[]): void {
  console.log(`\nCoverage-guided fuzzing (seed ${SEED}; failures saved in test/fuzz-regressions/)\n`);
  console.log('| target | execs | execs/s | corpus | covered blocks | covered functions | crashes | worker restarts |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const rate = Math.round(row.execs / Math.max(1, row.seconds));
    console.log(`| ${[row.target, row.execs, rate, row.corpus, row.blocks, row.functions, row.failures.length, row.restarts].join(' | ')} |`);
  }
  for (const row of rows) for (const failure of row.failures) console.log(`${row.target}: ${failure}`);
}
