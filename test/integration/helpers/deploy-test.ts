/**
 * `test` with projects and deploy resources (brokers, temp folders) of its own per test: for test
 * files only (vitest's `test.extend` runs as the module loads).
 */
import { ownedFixture } from '../../support/owned-fixture.ts';
import { DeployResources } from '../deploy-support.ts';
import { cliTest } from './cli-test.ts';

/** {@link cliTest} with a `resources` fixture too, released when the test ends: safe in `describe.concurrent`. */
export const deployTest = cliTest.extend<{ resources: DeployResources }>({
  resources: ownedFixture(
    () => new DeployResources(),
    (resources) => resources.cleanup(),
  ),
});
