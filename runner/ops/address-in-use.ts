/**
 * A port another program holds is not a usage error — a restart may mend it once the old holder
 * exits — but it is expected, so it is one line naming the flag and the address, not Node's stack.
 */
import { parseHostPort } from '../../protocol/address.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';

export interface ListenFlag {
  /** The flag, variable or key as the user gave it: `--broker-tcp-address`. */
  flag: string;
  address: string;
}

/** The error to report when `error` is a taken address among `listens`, else undefined. */
export function addressInUse(error: unknown, listens: readonly ListenFlag[]): RunnerError | undefined {
  // The servers may wrap the listen error ("cannot listen for HTTP on …"): look down the causes.
  let failed = error as (NodeJS.ErrnoException & { port?: unknown; address?: unknown }) | undefined;
  while (failed !== undefined && failed !== null && failed.code !== 'EADDRINUSE') failed = failed.cause as typeof failed;
  if (failed === undefined || failed === null) return undefined;
  const port = typeof failed.port === 'number' ? failed.port : undefined;
  const match =
    listens.find((listen) => {
      try {
        return parseHostPort(listen.address).port === port;
      } catch {
        return false;
      }
    }) ?? (listens.length === 1 ? listens[0] : undefined);
  const where = match === undefined ? `${String(failed.address)}:${String(port)}` : `${match.flag} ${match.address}`;
  return new RunnerError(
    RunnerErrorCode.AddressInUse,
    `${where}: the address is already in use by another program; stop it, or choose another address`,
    { cause: error },
  );
}

/** Runs `listen`, turning a taken address into {@link addressInUse}'s one-line error. */
export async function listenOrExplain<T>(listens: readonly ListenFlag[], listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    throw addressInUse(error, listens) ?? error;
  }
}
