/**
 * A vitest fixture for a thing a test owns: made for the test, released when it ends, whether it
 * passed or not. For `test.extend`, so that each test of a `describe.concurrent` has its own.
 */
export function ownedFixture<T>(make: () => T, release: (thing: T) => Promise<unknown>): (context: object, use: (thing: T) => Promise<void>) => Promise<void> {
  // The empty pattern is vitest's: it reads a fixture's dependencies from it (none here).
  return async ({}, use) => {
    const thing = make();
    try {
      await use(thing);
    } finally {
      await release(thing);
    }
  };
}
