/**
 * `test` with a {@link BrokerHarness} (`harness`) and {@link ChildBrokers} (`children`) of its own
 * per test, made when the test names them and released when it ends (the child brokers first): safe
 * in `describe.concurrent`, for tests that mostly wait on a timeout or a deferred message's due
 * time. For test files only (vitest's `test.extend` runs as the module loads). A file that starts
 * child brokers still calls killAllChildBrokers in afterAll, which removes their bundled script.
 */
import { test } from 'vitest';
import { ChildBrokers } from '../../support/child-broker.ts';
import { ownedFixture } from '../../support/owned-fixture.ts';
import { BrokerHarness } from './broker-harness.ts';

const ownedChildren = ownedFixture(
  () => new ChildBrokers(),
  (children) => children.killAll(),
);

export const harnessTest = test.extend<{ harness: BrokerHarness; children: ChildBrokers }>({
  harness: ownedFixture(
    () => new BrokerHarness(),
    (harness) => harness.cleanup(),
  ),
  // Depends on harness, so that vitest releases it first: the brokers go before the temp folders.
  children: ({ harness: _harness }, use) => ownedChildren({}, use),
});
