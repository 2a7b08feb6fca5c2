import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the coverage-guided fuzzer (bench/fuzz.ts) and the replay of its saved inputs
 * (test/unit/fuzz-regressions.test.ts) need from a fuzz target: seeds, a way to run one input, and
 * which errors are the code's own answers to bad input rather than bugs.
 */

/** One input-driven piece of the code under test. */
export interface FuzzTarget {
  readonly name: string;
  /** Inputs past this length are cut. */
  readonly maxLength: number;
  /** Which loaded scripts count as the target's code for coverage: their URLs match. */
  readonly coverage: RegExp;
  /** Byte strings the mutator splices in (command names, JSON keys, separators). */
  readonly dictionary: readonly string[];
  /** The starting corpus: well-formed and nearly well-formed inputs. */
  seeds(): Buffer[];
  /**
   * Runs one input. Returns a promise when the code under test answers asynchronously. Throws the
   * code's own error, an {@link InvariantError} when an answer is wrong, or anything else: a crash.
   */
  run(input: Buffer): void | Promise<void>;
  /** Whether `error` is one the code under test throws on purpose for bad input. */
  expected(error: unknown): boolean;
  /** Releases what the target holds (temporary folders, state). */
  close(): void | Promise<void>;
}

/** An answer that breaks what the code promises (a bound, an equivalence, a count). */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** The target's asynchronous answer did not come within the deadline. */
export class HangError extends Error {
  override readonly name = 'HangError';
}

/** Why an input failed. `signature` groups failures with one cause. */
export interface Failure {
  kind: 'crash' | 'invariant' | 'hang';
  message: string;
  signature: string;
}

function describeFailure(error: unknown): Failure {
  const kind = error instanceof HangError ? 'hang' : error instanceof InvariantError ? 'invariant' : 'crash';
  const err = error instanceof Error ? error : new Error(String(error));
  // The first frame in our own code locates the bug; numbers in messages vary with the input.
  const frame = (err.stack ?? '').split('\n').find((line) => /\/(protocol|broker|client)\//.test(line)) ?? '';
  const where = /([a-z0-9-]+\.ts):(\d+)/.exec(frame);
  const text = `${err.name}: ${err.message}`.replace(/\d+/g, 'N').slice(0, 120);
  return { kind, message: `${err.name}: ${err.message}\n${err.stack ?? ''}`, signature: `${kind} ${text}${where ? ` @${where[1]}:${where[2]}` : ''}` };
}

/**
 * Runs one input: undefined when the target answered as it should (an expected error included), or
 * the failure. An asynchronous answer must come within `deadlineMs`.
 */
export async function execute(target: FuzzTarget, input: Buffer, deadlineMs: number): Promise<Failure | undefined> {
  const started = performance.now();
  try {
    const pending = target.run(input);
    if (pending !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new HangError(`no answer within ${deadlineMs} ms`)), deadlineMs);
      });
      try {
        await Promise.race([pending, deadline]);
      } finally {
        clearTimeout(timer);
      }
    }
    // A synchronous run cannot be stopped here (the fuzzer's watchdog does that), only measured.
    const elapsedMs = performance.now() - started;
    if (elapsedMs > deadlineMs) throw new HangError(`one run took ${Math.round(elapsedMs)} ms`);
    return undefined;
  } catch (error) {
    if (!(error instanceof HangError) && !(error instanceof InvariantError) && target.expected(error)) return undefined;
    return describeFailure(error);
  }
}

/** Cuts `input` into pieces at points it determines itself, so a replay cuts it the same way. */
export function cutPoints(input: Buffer, pieces: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  let state = input.length * 31 + pieces;
  while (offset < input.length) {
    state = (state * 1103515245 + 12345) >>> 0;
    const size = 1 + (state % Math.max(1, Math.ceil((2 * input.length) / pieces)));
    out.push(input.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}

/**
 * A temporary folder for a target's files: in memory (/dev/shm) where there is one, since the
 * fuzzer measures our code, not the disk's fsync.
 */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));
}
