/**
 * TLS, compression and AUTH for every connection a worker or tool makes to nsqd (its consumers, its
 * producer, dead letters, `publish()`, `nsqworker pub`, `tail`, `stats`), declared once: the settings
 * (flags `--tls`, `--tls-ca-file`, `--tls-cert`, `--tls-key`, `--tls-insecure-skip-verify`,
 * `--auth-secret`, `--snappy`, `--deflate`, `--deflate-level`, with NSQWORKER_* twins and config keys)
 * and their reading into the client's options. A CA, certificate or key file that cannot be read,
 * holds no PEM certificate or key, or a key that is not the certificate's, is a usage error (exit 2)
 * naming its flag: every connection would fail on it, retried for ever. The secret is never logged.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ConnectionOptions, TlsOption } from '../../client/options.ts';
import { UsageError } from './flags.ts';

export const SecuritySettingsShape = {
  tls: z.boolean().default(false).describe('connect to nsqd over TLS (implied by the other --tls-* flags)'),
  tlsCaFile: z.string().default('').describe("PEM file of the CA that signs nsqd's certificate ('' = Node's roots)"),
  tlsCert: z.string().default('').describe('PEM client certificate file, for nsqd run with --tls-client-auth-policy'),
  tlsKey: z.string().default('').describe('PEM private key file of --tls-cert'),
  tlsInsecureSkipVerify: z.boolean().default(false).describe("accept any nsqd certificate (insecure: testing only)"),
  authSecret: z.string().default('').describe('secret sent with AUTH when nsqd runs with --auth-http-address (never logged)'),
  snappy: z.boolean().default(false).describe('snappy compression to nsqd (not with --deflate)'),
  deflate: z.boolean().default(false).describe('deflate compression to nsqd (not with --snappy)'),
  deflateLevel: z.number().int().min(1).max(9).default(6).describe('deflate level, 1-9'),
};

const SecuritySettingsSchema = z.object(SecuritySettingsShape);
export type SecuritySettings = z.output<typeof SecuritySettingsSchema>;

/** The client options these settings give. */
export type ClientSecurity = Pick<ConnectionOptions, 'tls' | 'snappy' | 'deflate' | 'deflateLevel'> & { authSecret?: string };

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/** What `parse` reads from `pem` (an X.509 certificate, a private key), or undefined where it cannot. */
function parsed<T>(pem: Buffer, parse: (pem: Buffer) => T): T | undefined {
  try {
    return parse(pem);
  } catch {
    return undefined;
  }
}

/**
 * The files' contents checked as a connection would use them: Node's TLS takes a CA file with no
 * certificate in it without a word (and then no nsqd verifies), and finds a key that is not the
 * certificate's only at the first connection.
 */
function checkPems(settings: SecuritySettings, { ca, cert, key }: { ca?: Buffer; cert?: Buffer; key?: Buffer }): void {
  // X509Certificate reads DER too, which Node's TLS ignores as a CA: the PEM header is the test.
  const pemCertificate = (pem: Buffer): X509Certificate | undefined => (pem.includes('-----BEGIN CERTIFICATE-----') ? parsed(pem, (text) => new X509Certificate(text)) : undefined);
  if (ca !== undefined && pemCertificate(ca) === undefined) throw new UsageError(`--tls-ca-file ${settings.tlsCaFile}: no PEM certificate in it (a DER file converts with openssl x509 -inform der)`);
  if (cert === undefined || key === undefined) return;
  const certificate = pemCertificate(cert);
  if (certificate === undefined) throw new UsageError(`--tls-cert ${settings.tlsCert}: no PEM certificate in it`);
  if (key.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || key.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new UsageError(`--tls-key ${settings.tlsKey}: the key is encrypted, and no passphrase is taken: decrypt it with openssl pkey`);
  }
  const privateKey = parsed(key, (pem) => createPrivateKey(pem));
  if (privateKey === undefined) throw new UsageError(`--tls-key ${settings.tlsKey}: no PEM private key in it`);
  // Not OpenSSL's context: it keeps an RSA key beside an EC certificate without a word.
  if (!certificate.checkPrivateKey(privateKey)) throw new UsageError(`--tls-key ${settings.tlsKey} is not the key of --tls-cert ${settings.tlsCert}`);
}

/** Just the security settings out of a worker's settings (for a reloadable child, which reads the files itself). */
export function securitySettingsOf(settings: SecuritySettings): SecuritySettings {
  const { tls, tlsCaFile, tlsCert, tlsKey, tlsInsecureSkipVerify, authSecret, snappy, deflate, deflateLevel } = settings;
  return { tls, tlsCaFile, tlsCert, tlsKey, tlsInsecureSkipVerify, authSecret, snappy, deflate, deflateLevel };
}

/** Reads the files the settings name. Throws {@link UsageError} for a file that cannot be read or holds no PEM certificate or key, a key not the certificate's, or snappy with deflate. */
export function clientSecurity(settings: SecuritySettings): ClientSecurity {
  if (settings.snappy && settings.deflate) throw new UsageError('--snappy and --deflate cannot both be on: nsqd refuses the pair');
  if ((settings.tlsCert === '') !== (settings.tlsKey === '')) throw new UsageError('--tls-cert and --tls-key go together');
  const wantTls = settings.tls || settings.tlsCaFile !== '' || settings.tlsCert !== '' || settings.tlsInsecureSkipVerify;
  let tls: TlsOption = false;
  if (wantTls) {
    const files = {
      ...(settings.tlsCaFile === '' ? {} : { ca: readPem(settings.tlsCaFile, 'tls-ca-file') }),
      ...(settings.tlsCert === '' ? {} : { cert: readPem(settings.tlsCert, 'tls-cert'), key: readPem(settings.tlsKey, 'tls-key') }),
    };
    checkPems(settings, files);
    tls = { ...files, ...(settings.tlsInsecureSkipVerify ? { rejectUnauthorized: false } : {}) };
  }
  return {
    tls,
    snappy: settings.snappy,
    deflate: settings.deflate,
    deflateLevel: settings.deflateLevel,
    ...(settings.authSecret === '' ? {} : { authSecret: settings.authSecret }),
  };
}
