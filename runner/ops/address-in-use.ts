/**
 * A port another program holds is not a usage error — a restart may mend it once the old holder
 * exits — but it is expected, so it is one line naming the flag and the address, not Node's stack.
 */
import { connect } from 'node:net';
import { parseHostPort } from '../../protocol/address.ts';
import { UsageError } from '../config/flags.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';

export interface ListenFlag {
  /** The flag, variable or key as the user gave it: `--broker-tcp-address`. */
  flag: string;
  address: string;
}

/**
 * The error to report when `error` is a taken address among `listens`, else undefined. The holder
 * is asked who it is ({@link answersAsNsq}): a second `nsqworker broker` beside a worker's embedded
 * one is the usual case, and "another program" would send the user looking for a stranger.
 */
export async function addressInUse(error: unknown, listens: readonly ListenFlag[]): Promise<RunnerError | undefined> {
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
  const nsq = port !== undefined && (await answersAsNsq(typeof failed.address === 'string' ? failed.address : '', port));
  const holder = nsq ? 'an NSQ server (an nsqd, an nsqlookupd or another nsqworker: it answered as one)' : 'another program';
  // A worker joins a running broker found at its --broker-http-address: with another HTTP address it cannot tell.
  const join = nsq && match?.flag === '--broker-tcp-address' ? '; a worker uses a broker already running only when --broker-http-address is that broker\'s too' : '';
  return new RunnerError(RunnerErrorCode.AddressInUse, `${where}: the address is already in use by ${holder}; stop it, or choose another address${join}`, {
    cause: error,
  });
}

/** How long the holder of a taken port has to answer: a local server answers in a few ms. */
const PROBE_TIMEOUT_MS = 300;

/**
 * Whether the server on `host:port` answers as NSQ's do: an HTTP `GET /ping` answered `OK` (nsqd's,
 * nsqlookupd's and nsqadmin's HTTP ports, and ours, the health address's too), or the
 * `E_BAD_PROTOCOL` nsqd and nsqlookupd send a TCP client whose first bytes are not a protocol magic (nsqd/tcp.go). A wildcard
 * host is asked on loopback. Never throws; false on silence, refusal or anything else.
 */
export function answersAsNsq(host: string, port: number): Promise<boolean> {
  const target = WILDCARD_HOSTS.has(host) ? (host.includes(':') ? '::1' : '127.0.0.1') : host.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    let received = '';
    const socket = connect({ host: target, port });
    const done = (answer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write('GET /ping HTTP/1.0\r\n\r\n'));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('E_BAD_PROTOCOL') || /^HTTP\/1\.[01] 200 [^]*\r\n\r\nOK\s*$/.test(received)) done(true);
      else if (received.length > 4096) done(false);
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
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
    throw (await addressInUse(error, listens)) ?? error;
  }
}
