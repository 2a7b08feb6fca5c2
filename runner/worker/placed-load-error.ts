/**
 * A load failure found by the runner itself, not thrown by the user's code: where it is and why,
 * as load-failure.ts reports any other (file:line: failed to load: reason), and the code's fault
 * (exit 2) wherever it loads.
 */
export class PlacedLoadError extends Error {
  /** `line`: 1-based, undefined for the file as a whole. */
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'PlacedLoadError';
  }
}
