/**
 * The failing inputs the fuzzer found, kept in test/fuzz-regressions/<target>/ as `<kind>-<hash>.bin`
 * (with a `.txt` saying what failed): bench/fuzz.ts writes them, test/unit/fuzz-regressions.test.ts
 * replays them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REGRESSIONS = fileURLToPath(new URL('../../fuzz-regressions/', import.meta.url));

/** The saved inputs of a target by file name (hangs left out on request: they would stop a fuzz worker again). */
export function savedInputs(target: string, hangs = true): Map<string, Buffer> {
  const dir = join(REGRESSIONS, target);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.bin') && (hangs || !name.startsWith('hang-'))).sort();
  } catch (error) {
    // A target nothing was saved for yet; any other failure must not make the replay quietly empty.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  return new Map(names.map((name) => [name, readFileSync(join(dir, name))]));
}

/** Saves a failing input; returns its path. */
export function saveInput(target: string, input: Uint8Array, kind: string, message: string): string {
  const dir = join(REGRESSIONS, target);
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-${createHash('sha1').update(input).digest('hex').slice(0, 12)}`;
  writeFileSync(join(dir, `${name}.bin`), input);
  writeFileSync(join(dir, `${name}.txt`), `${message}\n`);
  return join(dir, `${name}.bin`);
}
