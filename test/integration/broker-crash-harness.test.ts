/**
 * The crash harness (test/support/crash-harness.ts) in its short form: 12 rounds of mixed load
 * on a child broker in sync mode killed with SIGKILL at seeded random moments, and a few rounds of
 * clean stops (SIGTERM, SIGINT) with the default flags. `npm run bench crash` runs 1,000 rounds.
 * CRASH_SEED replays a run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCrashHarness } from '../support/crash-harness.ts';
import { killAllChildBrokers } from '../support/child-broker.ts';
import { BrokerHarness } from './helpers/broker-harness.ts';

const harness = new BrokerHarness();
afterEach(async () => {
  await killAllChildBrokers();
  await harness.cleanup();
});

const seed = Number(process.env.CRASH_SEED ?? 13);

describe('crash harness', () => {
  it('sync mode: 12 rounds of SIGKILL under mixed load lose no acknowledged message', async () => {
    const started = Date.now();
    const report = await runCrashHarness({ rounds: 12, seed, stop: 'kill', dataPath: await harness.tempDir() });
    console.log(`crash harness (sync mode, SIGKILL, seed ${seed}): ${JSON.stringify({ ...report, elapsedMs: Date.now() - started })}`);
    expect(report.acknowledged).toBeGreaterThan(100);
    expect(report.unexpected).toBe(0);
    expect(report.lostBodies).toEqual([]);
    expect(report.lost).toBe(0);
  }, 60_000);

  it('default flags: clean stops (SIGTERM, SIGINT) under mixed load lose nothing', async () => {
    const report = await runCrashHarness({ rounds: 4, seed: seed + 1, stop: 'clean', dataPath: await harness.tempDir() });
    console.log(`crash harness (default flags, clean stops, seed ${seed + 1}): ${JSON.stringify(report)}`);
    expect(report.acknowledged).toBeGreaterThan(50);
    expect(report.unexpected).toBe(0);
    expect(report.lostBodies).toEqual([]);
  }, 60_000);
});
