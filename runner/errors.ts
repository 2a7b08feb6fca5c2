/** The runner's errors, each with a stable code. Usage errors exit with status 2, the rest with 1. */

import { CodedError } from '../protocol/coded-error.ts';

export const RunnerErrorCode = {
  /** A bad flag, option value, config file entry or environment variable. */
  Usage: 'E_USAGE',
  /** No worker file for the topic and channel asked for. */
  WorkerNotFound: 'E_WORKER_NOT_FOUND',
  /**
   * A worker file that does not load: a usage error when its code is at fault (a syntax error, a
   * missing import), a failure at run time when it threw as it ran (a database down at import).
   */
  WorkerLoadFailed: 'E_WORKER_LOAD_FAILED',
  /** A worker file that loads but is not a worker. */
  WorkerInvalid: 'E_WORKER_INVALID',
  /** The config file does not load or does not validate. */
  ConfigInvalid: 'E_CONFIG_INVALID',
  /** The embedded broker this worker joined stopped, and this worker cannot take its place. */
  BrokerGone: 'E_BROKER_GONE',
  /** An address to listen on is held by another program (not a usage error: a restart may mend it). */
  AddressInUse: 'E_ADDRESS_IN_USE',
  /** The embedded broker's data path is held by a broker on other addresses (broker/nsqd/data-lock.ts's code). */
  DataPathInUse: 'E_DATA_PATH_LOCKED',
} as const;

export type RunnerErrorCode = (typeof RunnerErrorCode)[keyof typeof RunnerErrorCode];

const USAGE_CODES: ReadonlySet<string> = new Set([
  RunnerErrorCode.Usage,
  RunnerErrorCode.WorkerNotFound,
  // A broken worker file does not mend itself: restarting the process would not help. One that threw
  // as it ran is marked otherwise where it is raised (load-failure.ts's failsInAnyProcess).
  RunnerErrorCode.WorkerLoadFailed,
  RunnerErrorCode.WorkerInvalid,
  RunnerErrorCode.ConfigInvalid,
]);

export class RunnerError extends CodedError<RunnerErrorCode> {
  override readonly name: string = 'RunnerError';
  private readonly usage: boolean | undefined;

  /** `usage` overrides what the code says (a worker that threw at import may mend on a restart). */
  constructor(code: RunnerErrorCode, message: string, options?: { cause?: unknown; usage?: boolean }) {
    super(code, message, options);
    this.usage = options?.usage;
  }

  /** Whether this is the user's mistake (exit 2) rather than a failure at run time (exit 1). */
  get isUsage(): boolean {
    return this.usage ?? USAGE_CODES.has(this.code);
  }
}
