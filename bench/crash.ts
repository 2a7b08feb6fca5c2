/**
 * `npm run bench crash`: the crash harness (test/support/crash-harness.ts) for 1,000 rounds (or
 * BENCH_CRASH_ROUNDS): a child broker in sync mode under mixed load, SIGKILLed at seeded random
 * moments and restarted on the same data path; then every acknowledged message must have been
 * finished. BENCH_CRASH_SEED replays a run. Prints rounds, acknowledged, finished, duplicated, lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllChildBrokers } from '../test/support/child-broker.ts';
import { runCrashHarness, type CrashReport } from '../test/support/crash-harness.ts';

export async function crashBenchmark(): Promise<CrashReport & { seed: number; elapsedS: number }> {
  const rounds = Number(process.env.BENCH_CRASH_ROUNDS ?? 1000);
  const seed = Number(process.env.BENCH_CRASH_SEED ?? Date.now() % 1_000_000);
  const dataPath = mkdtempSync(join(tmpdir(), 'bench-crash-'));
  const started = performance.now();
  try {
    const report = await runCrashHarness({ rounds, seed, stop: 'kill', dataPath });
    return { ...report, seed, elapsedS: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    await killAllChildBrokers();
    rmSync(dataPath, { recursive: true, force: true });
  }
}
