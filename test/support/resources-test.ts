/**
 * `test` with brokers and clients of its own per test: for test files only (vitest's `test.extend`
 * runs as the module loads, and benchmarks import brokers.ts outside vitest).
 */
import { test } from 'vitest';
import { BrokerPool, type Closable } from './brokers.ts';
import { ownedFixture } from './owned-fixture.ts';

/**
 * `test` with the resources of testResources (brokers.ts) as fixtures of each test (`pool`, `track`),
 * released when that test ends, clients before brokers: safe in `describe.concurrent`, for tests
 * that mostly wait on timeouts and so can share the time they wait.
 */
export const resourcesTest = test.extend<{ pool: BrokerPool; track: <T extends Closable>(thing: T) => T }>({
  pool: ownedFixture(
    () => new BrokerPool(),
    (pool) => pool.closeAll(),
  ),
  // Depends on pool, so that vitest releases it first: the clients close before their brokers.
  track: async ({ pool: _pool }, use) => {
    const closers: Array<() => Promise<void>> = [];
    try {
      await use((thing) => {
        closers.push(() => thing.close());
        return thing;
      });
    } finally {
      for (const close of closers.reverse()) await close();
    }
  },
});
