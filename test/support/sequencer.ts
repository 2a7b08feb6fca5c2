/**
 * The order test files start in: vitest's (the longest first, by the durations it remembers), then
 * the unit files after every other. A clean clone, as in CI, has no durations: vitest then starts
 * the largest files first, and a short file that runs long (the crash harness: 16 s in 5 kB) began
 * last, one fork running it alone while the other had nothing left. There the files that ran
 * longest in CI start first, longest first; unit files, a few milliseconds each, fill the end.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Files that took 10 s or more in a CI run (at 935595d), longest first; the disk-backlog test left it once cut to 1 s. An order, not a limit. */
const LONGEST_IN_CI = [
  'package-apps',
  'runner-cli-usage',
  'runner-effective-config',
  'runner-config',
  'runner-errors',
  'package-workers',
  'broker-crash-harness',
  'reload-tasks',
  'reload',
  'dev-output',
  'reload-shutdown',
  'deploy-supervisord',
  'cli-servers',
  'reload-saves',
  'runner-lifecycle',
  'runner-naming',
  'reload-beside',
];

const isUnit = (file: TestSpecification): boolean => /[\\/]test[\\/]unit[\\/]/.test(file.moduleId);
const baseName = (file: TestSpecification): string => file.moduleId.replace(/^.*[\\/]/, '').replace(/\.test\.ts$/, '');
/** Where a file stands in LONGEST_IN_CI; after all of them when it is not there. */
const rankInCi = (file: TestSpecification): number => {
  const rank = LONGEST_IN_CI.indexOf(baseName(file));
  return rank === -1 ? LONGEST_IN_CI.length : rank;
};

export default class UnitFilesLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    let sorted = await super.sort(files);
    const remembered = (file: TestSpecification): boolean =>
      this.ctx.cache.getFileTestResults(`${file.project.name}:${relative(this.ctx.config.root, file.moduleId)}`) !== undefined;
    // Array.prototype.sort is stable: the files not listed keep vitest's order among themselves.
    if (!sorted.some(remembered)) sorted = [...sorted].sort((a, b) => rankInCi(a) - rankInCi(b));
    return [...sorted.filter((file) => !isUnit(file)), ...sorted.filter(isUnit)];
  }
}
