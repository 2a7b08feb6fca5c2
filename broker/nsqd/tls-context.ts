/**
 * The broker's TLS settings, built once at start from its options as nsqd's `buildTLSConfig` and
 * `buildClientTLSConfig` build them (`nsqd/nsqd.go`): a server context for TCP upgrades and HTTPS,
 * the client-certificate policy, and the CA used when the broker itself calls an https auth server.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureVersion, type TlsOptions } from 'node:tls';
import { CodedError } from '../../protocol/coded-error.ts';
import type { BrokerOptions } from './options.ts';
import { TlsHandshaker } from './tls-handshaker.ts';
import type { TlsMinVersion } from './tls-options.ts';

export type BrokerTlsErrorCode = 'E_TLS_CONFIG';

/** A TLS option the broker cannot start with (unreadable file, bad PEM, TLS required without a cert). */
export class BrokerTlsError extends CodedError<BrokerTlsErrorCode> {
  override readonly name = 'BrokerTlsError';
}

const NODE_VERSIONS: Record<TlsMinVersion, SecureVersion> = {
  'ssl3.0': 'TLSv1',
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

export interface BrokerTls {
  /** tls.Server options for a TCP upgrade or the HTTPS listener: certificate, key, CA, policy, versions. */
  readonly serverOptions: TlsOptions;
  /** Runs the TCP upgrades' handshakes (one tls.Server for the broker). */
  readonly handshaker: TlsHandshaker;
  readonly minVersion: SecureVersion;
  /** Ask the client for a certificate (`require` and `require-verify`). */
  readonly requestCert: boolean;
  /** Refuse a client certificate the CA does not sign (`require-verify`). */
  readonly verifyClientCert: boolean;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new BrokerTlsError('E_TLS_CONFIG', `failed to read ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Names the file that is not what its flag takes (OpenSSL's "no start line" names none). */
function checkPem(parse: () => unknown, flag: string, what: string): void {
  try {
    parse();
  } catch (error) {
    throw new BrokerTlsError('E_TLS_CONFIG', `${flag} is not ${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** nsqd's rule: a client-auth policy turns `--tls-required` on when it was off. */
export function effectiveOptions(options: BrokerOptions): BrokerOptions {
  if (options.tlsClientAuthPolicy !== '' && options.tlsRequired === 'false') return { ...options, tlsRequired: 'true' };
  return options;
}

/**
 * The broker's TLS, or undefined when it has no certificate and key (TLS is then never offered).
 * Throws {@link BrokerTlsError} with nsqd's words when TLS is required without them.
 */
export function buildBrokerTls(options: BrokerOptions): BrokerTls | undefined {
  if (options.tlsCert === '' && options.tlsKey === '') {
    if (options.tlsRequired !== 'false') {
      throw new BrokerTlsError('E_TLS_CONFIG', 'cannot require TLS client connections without TLS key and cert');
    }
    return undefined;
  }
  // nsqd loads the pair and says only "open : no such file or directory" for the one not given.
  const [given, missing] = options.tlsKey === '' ? ['--tls-cert', '--tls-key'] : ['--tls-key', '--tls-cert'];
  if (options.tlsCert === '' || options.tlsKey === '') throw new BrokerTlsError('E_TLS_CONFIG', `${given} needs ${missing} too: give the certificate and its key, or neither`);
  const cert = readPem(options.tlsCert, '--tls-cert');
  const key = readPem(options.tlsKey, '--tls-key');
  checkPem(() => new X509Certificate(cert), `--tls-cert ${options.tlsCert}`, 'a PEM certificate');
  checkPem(() => createPrivateKey(key), `--tls-key ${options.tlsKey}`, 'a PEM private key');
  const ca = options.tlsRootCaFile === '' ? undefined : readPem(options.tlsRootCaFile, '--tls-root-ca-file');
  const minVersion = NODE_VERSIONS[options.tlsMinVersion];
  // OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and up; nsqd accepts them when asked to.
  const legacy = minVersion === 'TLSv1' || minVersion === 'TLSv1.1';
  const requestCert = options.tlsClientAuthPolicy !== '';
  const verifyClientCert = options.tlsClientAuthPolicy === 'require-verify';
  const serverOptions: TlsOptions = {
    cert,
    key,
    ca,
    minVersion,
    requestCert,
    rejectUnauthorized: verifyClientCert,
    ...(legacy ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
  };
  try {
    createSecureContext(serverOptions); // fail at start, not at the first client, on a bad PEM or key
  } catch (error) {
    throw new BrokerTlsError('E_TLS_CONFIG', `failed to build TLS config - ${(error as Error).message}`, { cause: error });
  }
  return { serverOptions, handshaker: new TlsHandshaker(serverOptions), minVersion, requestCert, verifyClientCert };
}

/** The CA bundle for the broker's own https calls (auth servers), from `--tls-root-ca-file`. */
export function clientCa(options: BrokerOptions): Buffer | undefined {
  return options.tlsRootCaFile === '' ? undefined : readPem(options.tlsRootCaFile, '--tls-root-ca-file');
}
