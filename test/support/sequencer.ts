/**
 * The order test files start in: vitest's (the longest first, by the durations it remembers; by
 * size on a clean clone, as in CI), then the unit files after every other. On a clean clone the
 * size order put a 12-second integration file last, one fork running it alone while the other had
 * nothing left: unit files, a few milliseconds each, fill that end instead.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const isUnit = (file: TestSpecification): boolean => /[\\/]test[\\/]unit[\\/]/.test(file.moduleId);

export default class UnitFilesLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((file) => !isUnit(file)), ...sorted.filter(isUnit)];
  }
}
