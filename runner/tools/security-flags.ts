/**
 * The TLS, compression and AUTH flags of `nsqworker pub`, `tail` and `stats`: the same names as a
 * worker's (client-security.ts), read into the client's options. A file that cannot be read, or a
 * bad value, is a usage error (exit 2) naming the flag.
 */
import type { Command } from 'cac';
import { clientSecurity, type ClientSecurity } from '../config/client-security.ts';
import { UsageError } from '../config/flags.ts';
import { camelCase, intValue, stringValue } from './args.ts';

/**
 * The flags on `command`; `tlsOnly` for a tool that speaks HTTP(S) alone (`stats`), to which AUTH and
 * compression, parts of the TCP protocol, do not apply.
 */
export function addSecurityFlags(command: Command, { tlsOnly = false }: { tlsOnly?: boolean } = {}): Command {
  command
    .option('--tls', 'connect to nsqd over TLS (implied by the other --tls-* flags)')
    .option('--tls-ca-file <file>', "PEM file of the CA that signs nsqd's certificate (default: Node's roots)")
    .option('--tls-cert <file>', 'PEM client certificate file')
    .option('--tls-key <file>', 'PEM private key file of --tls-cert')
    .option('--tls-insecure-skip-verify', "accept any nsqd certificate (insecure: testing only)");
  if (tlsOnly) return command;
  return command
    .option('--auth-secret <secret>', 'secret sent with AUTH when nsqd requires it')
    .option('--snappy', 'snappy compression (not with --deflate)')
    .option('--deflate', 'deflate compression (not with --snappy)')
    .option('--deflate-level <n>', 'deflate level, 1-9 (default: 6)');
}

function switchValue(flags: Record<string, unknown>, flag: string): boolean {
  const value = flags[camelCase(flag)];
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  throw new UsageError(`--${flag} takes no value`);
}

/** The client options the tool's flags give. */
export function securityFromFlags(argv: readonly string[], flags: Record<string, unknown>): ClientSecurity {
  const deflateLevel = intValue(flags, 'deflate-level', 6, 1);
  if (deflateLevel > 9) throw new UsageError(`--deflate-level takes 1 to 9, got ${deflateLevel}`);
  return clientSecurity({
    tls: switchValue(flags, 'tls'),
    tlsCaFile: stringValue(argv, flags, 'tls-ca-file') ?? '',
    tlsCert: stringValue(argv, flags, 'tls-cert') ?? '',
    tlsKey: stringValue(argv, flags, 'tls-key') ?? '',
    tlsInsecureSkipVerify: switchValue(flags, 'tls-insecure-skip-verify'),
    authSecret: stringValue(argv, flags, 'auth-secret') ?? '',
    snappy: switchValue(flags, 'snappy'),
    deflate: switchValue(flags, 'deflate'),
    deflateLevel,
  });
}
