/**
 * `test` with a {@link CliProjects} of its own per test: for test files only (vitest's `test.extend`
 * runs as the module loads, and benchmarks import cli-project.ts outside vitest).
 */
import { test } from 'vitest';
import { ownedFixture } from '../../support/owned-fixture.ts';
import { CliProjects } from './cli-project.ts';

/**
 * `test` with a {@link CliProjects} of its own as its `projects` fixture, cleaned up when that test
 * ends: safe in `describe.concurrent`, for tests that mostly wait (a shutdown timeout, a grace).
 */
export const cliTest = test.extend<{ projects: CliProjects }>({
  projects: ownedFixture(
    () => new CliProjects(),
    (projects) => projects.cleanup(),
  ),
});
