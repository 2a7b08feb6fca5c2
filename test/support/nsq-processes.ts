/**
 * Real nsqd and nsqlookupd, when NSQD_BIN and NSQLOOKUPD_BIN point at their binaries: the client
 * suite then runs unchanged against them, which is how compatibility with real NSQ is checked.
 * Each runs on 127.0.0.1 port 0; the bound addresses are read from its startup log.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { formatDurationMs } from '../../protocol/duration.ts';
import { BROKER_FLAGS, type BrokerOptionsInput } from '../../broker/nsqd/options.ts';

export const NSQD_BIN = process.env.NSQD_BIN || undefined;
export const NSQLOOKUPD_BIN = process.env.NSQLOOKUPD_BIN || undefined;

/** What the tests use of a broker or lookupd, bundled or real. */
export interface ServerHandle {
  readonly tcpAddress: string;
  readonly httpAddress: string;
  close(): Promise<void>;
}

/** Starts a binary and waits for "TCP: listening on X" and "HTTP: listening on Y" in its log. */
async function startLogged(bin: string, args: string[]): Promise<ServerHandle> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reported = new Promise<{ tcp: string; http: string }>((resolve, reject) => {
    const found: { tcp?: string; http?: string } = {};
    const onLine = (line: string): void => {
      for (const match of line.matchAll(/(TCP|HTTP): listening on ([^\s,"]+)/g)) {
        found[match[1] === 'TCP' ? 'tcp' : 'http'] = match[2]!;
      }
      if (found.tcp !== undefined && found.http !== undefined) resolve({ tcp: found.tcp, http: found.http });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${bin} exited with ${code} before listening`)));
    setTimeout(() => reject(new Error(`${bin} did not report its addresses`)), 10_000).unref();
  });
  let addresses: { tcp: string; http: string };
  try {
    addresses = await reported;
  } catch (error) {
    // A server that never said where it listens must not outlive the test that started it.
    child.kill('SIGKILL');
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    tcpAddress: addresses.tcp,
    httpAddress: addresses.http,
    close() {
      closing ??= (async () => {
        child.kill('SIGTERM');
        await exited;
      })();
      return closing;
    },
  };
}

/** Real nsqd with the same options the bundled broker takes, passed as nsqd's flags. */
export function startNsqdProcess(bin: string, options: BrokerOptionsInput): Promise<ServerHandle> {
  const args: string[] = [];
  for (const flag of BROKER_FLAGS) {
    const value = options[flag.option];
    if (value === undefined) continue;
    if (flag.kind === 'list') for (const item of value as string[]) args.push(`--${flag.flag}=${item}`);
    else if (flag.kind === 'duration') args.push(`--${flag.flag}=${formatDurationMs(value as number)}`);
    else args.push(`--${flag.flag}=${String(value)}`);
  }
  return startLogged(bin, args);
}

export function startNsqlookupdProcess(bin: string, options: { tcpAddress: string; httpAddress: string; broadcastAddress?: string }): Promise<ServerHandle> {
  const args = [`--tcp-address=${options.tcpAddress}`, `--http-address=${options.httpAddress}`];
  if (options.broadcastAddress !== undefined) args.push(`--broadcast-address=${options.broadcastAddress}`);
  return startLogged(bin, args);
}
