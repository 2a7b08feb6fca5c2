/**
 * `test` with a {@link CliProjects} of its own per test: for test files only (vitest's `test.extend`
 * runs as the module loads, and benchmarks import cli-project.ts outside vitest).
 */
import { test } from 'vitest';
import { BrokerPool } from '../../support/brokers.ts';
import { ownedFixture } from '../../support/owned-fixture.ts';
import { CliProjects } from './cli-project.ts';

const ownedProjects = ownedFixture(
  () => new CliProjects(),
  (projects) => projects.cleanup(),
);

/**
 * `test` with a {@link CliProjects} of its own as its `projects` fixture, cleaned up when that test
 * ends: safe in `describe.concurrent`, for tests that mostly wait (a shutdown timeout, a grace).
 */
export const cliTest = test.extend<{ projects: CliProjects }>({ projects: ownedProjects });

/**
 * {@link cliTest} with a {@link BrokerPool} of its own too (`pool`: the bundled broker, or real nsqd
 * with NSQD_BIN), for workers on brokers of their own: the workers are stopped before their brokers.
 */
export const cliPoolTest = test.extend<{ pool: BrokerPool; projects: CliProjects }>({
  pool: ownedFixture(
    () => new BrokerPool(),
    (pool) => pool.closeAll(),
  ),
  // Depends on pool, so that vitest releases it first.
  projects: ({ pool: _pool }, use) => ownedProjects({}, use),
});
