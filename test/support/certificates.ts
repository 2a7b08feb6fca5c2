/**
 * Certificates made for a test run with the openssl CLI: a CA, a server certificate for 127.0.0.1 and
 * localhost, and a client certificate (CN `client-1`), all signed by the CA, plus a second CA that
 * signs nothing we serve (for "does not verify" cases). Files live in a temp dir removed by `remove()`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed none of the above. */
  otherCaFile: string;
  /** A client certificate (CN `stranger`) signed by the other CA. */
  strangerCert: Buffer;
  strangerKey: Buffer;
  ca: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  otherCa: Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// P-256 keys: generated in about 1 ms where an RSA 2048 key takes about 250 ms of CPU, sixty times a run.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', ...NEW_KEY, '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`], dir);
}

function makeSigned(dir: string, name: string, cn: string, ca: string, extensions: string): void {
  openssl(['req', ...NEW_KEY, '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`],
    dir,
  );
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'nsqworker-certs-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeSigned(dir, 'server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeSigned(dir, 'client', 'client-1', 'ca', 'extendedKeyUsage=clientAuth\n');
  makeSigned(dir, 'stranger', 'stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const path = (file: string): string => join(dir, file);
  return {
    dir,
    caFile: path('ca.pem'),
    serverCertFile: path('server.pem'),
    serverKeyFile: path('server.key'),
    clientCertFile: path('client.pem'),
    clientKeyFile: path('client.key'),
    otherCaFile: path('other-ca.pem'),
    ca: readFileSync(path('ca.pem')),
    clientCert: readFileSync(path('client.pem')),
    clientKey: readFileSync(path('client.key')),
    otherCa: readFileSync(path('other-ca.pem')),
    strangerCert: readFileSync(path('stranger.pem')),
    strangerKey: readFileSync(path('stranger.key')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
