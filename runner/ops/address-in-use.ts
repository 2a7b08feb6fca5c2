/**
 * A port another program holds is not a usage error — a restart may mend it once the old holder
 * exits — but it is expected, so it is one line naming the flag and the address, not Node's stack.
 */
import { parseHostPort } from '../../protocol/address.ts';
import { UsageError } from '../config/flags.ts';
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

const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * Two of `listens` on one port (port 0 aside) where their hosts overlap — the same host, or either
 * one every interface: the second would find the first's port taken by "another program".
 */
function sharedAddress(listens: readonly ListenFlag[]): UsageError | undefined {
  const parsed = listens.map((listen) => {
    try {
      return { ...listen, ...parseHostPort(listen.address) };
    } catch {
      return undefined; // Its own check names a malformed address.
    }
  });
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      const [a, b] = [parsed[i], parsed[j]];
      if (a === undefined || b === undefined || a.port === 0 || a.port !== b.port) continue;
      if (a.host !== b.host && !WILDCARD_HOSTS.has(a.host) && !WILDCARD_HOSTS.has(b.host)) continue;
      return new UsageError(`${a.flag} ${a.address} and ${b.flag} ${b.address} share port ${a.port}: give each its own port`);
    }
  }
  return undefined;
}

/**
 * Runs `listen`, turning a taken address into {@link addressInUse}'s one-line error. Throws
 * {@link sharedAddress}'s UsageError (exit 2) first, without listening, when two flags share a port.
 */
export async function listenOrExplain<T>(listens: readonly ListenFlag[], listen: () => Promise<T>): Promise<T> {
  const shared = sharedAddress(listens);
  if (shared !== undefined) throw shared;
  try {
    return await listen();
  } catch (error) {
    throw addressInUse(error, listens) ?? error;
  }
}
