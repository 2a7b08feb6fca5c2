import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProducerOptionsSchema, identifyBody, parseOptions } from '../../client/options.ts';
import { tlsConnectOptions, upgradeSteps } from '../../client/upgrade.ts';
import { clientSecurity, SecuritySettingsShape, type SecuritySettings } from '../../runner/config/client-security.ts';
import { UsageError } from '../../runner/config/flags.ts';
import { RUN_FIELDS } from '../../runner/run-plan.ts';
import { nsqdIdentifyAnswer } from '../support/nsqd-answers.ts';
import { makeTestCertificates } from '../support/certificates.ts';
import { IdentifyResponseSchema } from '../../protocol/identify.ts';

const dir = mkdtempSync(join(tmpdir(), 'nsqworker-security-'));
const certs = makeTestCertificates();
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  certs.remove();
});
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const defaults: SecuritySettings = {
  tls: false,
  tlsCaFile: '',
  tlsCert: '',
  tlsKey: '',
  tlsInsecureSkipVerify: false,
  authSecret: '',
  snappy: false,
  deflate: false,
  deflateLevel: 6,
};

describe('runner security settings', () => {
  it('are flags with NSQWORKER_* twins', () => {
    const fields = new Map(RUN_FIELDS.map((field) => [field.key, field]));
    for (const key of Object.keys(SecuritySettingsShape)) expect(fields.has(key)).toBe(true);
    expect(fields.get('tlsCaFile')).toMatchObject({ flag: 'tls-ca-file', env: 'NSQWORKER_TLS_CA_FILE' });
    expect(fields.get('tlsInsecureSkipVerify')).toMatchObject({ flag: 'tls-insecure-skip-verify', env: 'NSQWORKER_TLS_INSECURE_SKIP_VERIFY' });
    expect(fields.get('authSecret')).toMatchObject({ flag: 'auth-secret', env: 'NSQWORKER_AUTH_SECRET' });
    expect(fields.get('deflateLevel')).toMatchObject({ flag: 'deflate-level', env: 'NSQWORKER_DEFLATE_LEVEL' });
  });

  it('read the CA, certificate and key; any --tls-* flag turns TLS on', () => {
    expect(clientSecurity(defaults)).toEqual({ tls: false, snappy: false, deflate: false, deflateLevel: 6 });
    expect(clientSecurity({ ...defaults, tls: true })).toMatchObject({ tls: {} });
    expect(clientSecurity({ ...defaults, tlsCaFile: certs.caFile, tlsCert: certs.clientCertFile, tlsKey: certs.clientKeyFile, authSecret: 's' })).toEqual({
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
      snappy: false,
      deflate: false,
      deflateLevel: 6,
      authSecret: 's',
    });
    expect(clientSecurity({ ...defaults, tlsInsecureSkipVerify: true })).toMatchObject({ tls: { rejectUnauthorized: false } });
  });

  it('are usage errors naming the flag for a file that cannot be read, a lone cert, or both compressions', () => {
    const missing = join(dir, 'nope.pem');
    expect(() => clientSecurity({ ...defaults, tlsCaFile: missing })).toThrow(UsageError);
    expect(() => clientSecurity({ ...defaults, tlsCaFile: missing })).toThrow(/--tls-ca-file: cannot read .*nope\.pem: ENOENT/);
    expect(() => clientSecurity({ ...defaults, tlsCert: missing, tlsKey: missing })).toThrow(/--tls-cert/);
    expect(() => clientSecurity({ ...defaults, tlsCert: file('c2.pem', 'C') })).toThrow(/--tls-cert and --tls-key go together/);
    expect(() => clientSecurity({ ...defaults, snappy: true, deflate: true })).toThrow(/--snappy and --deflate/);
  });

  it('are usage errors naming the flag for a file with no PEM certificate or key in it, or a key not the certificate\'s', () => {
    const garbage = file('garbage.pem', 'garbage\n');
    const pair = { tlsCert: certs.clientCertFile, tlsKey: certs.clientKeyFile };
    expect(() => clientSecurity({ ...defaults, tlsCaFile: garbage })).toThrow(`--tls-ca-file ${garbage}: no PEM certificate in it`);
    expect(() => clientSecurity({ ...defaults, ...pair, tlsCert: garbage })).toThrow(`--tls-cert ${garbage}: no PEM certificate in it`);
    // A certificate given as the key: a PEM, but no key.
    expect(() => clientSecurity({ ...defaults, ...pair, tlsKey: certs.caFile })).toThrow(`--tls-key ${certs.caFile}: no PEM private key in it`);
    const otherKey = file('other.key', certs.strangerKey.toString());
    expect(() => clientSecurity({ ...defaults, ...pair, tlsKey: otherKey })).toThrow(`--tls-key ${otherKey} is not the key of --tls-cert ${certs.clientCertFile}`);
    // An RSA key beside the EC certificate: OpenSSL's context takes the pair, the handshake would not.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaKey = file('rsa.key', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(() => clientSecurity({ ...defaults, ...pair, tlsKey: rsaKey })).toThrow(`--tls-key ${rsaKey} is not the key of --tls-cert ${certs.clientCertFile}`);
    const encrypted = file('enc.key', privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString());
    expect(() => clientSecurity({ ...defaults, ...pair, tlsKey: encrypted })).toThrow('the key is encrypted, and no passphrase is taken');
    // DER parses as a certificate, but Node's TLS ignores it as a CA.
    const der = join(dir, 'ca.der');
    writeFileSync(der, new X509Certificate(certs.ca).raw);
    expect(() => clientSecurity({ ...defaults, tlsCaFile: der })).toThrow(`--tls-ca-file ${der}: no PEM certificate in it (a DER file converts with openssl x509 -inform der)`);
  });
});

describe('client TLS and compression options', () => {
  const base = { nsqdTcpAddresses: ['127.0.0.1:4150'] };

  it('ask for what is set in IDENTIFY', () => {
    const options = parseOptions(ProducerOptionsSchema, { ...base, tls: true, deflate: true, deflateLevel: 3 }, 'producer');
    expect(identifyBody(options)).toMatchObject({ tls_v1: true, snappy: false, deflate: true, deflate_level: 3 });
    expect(identifyBody(parseOptions(ProducerOptionsSchema, base, 'producer'))).toMatchObject({ tls_v1: false, snappy: false, deflate: false });
  });

  it('refuse bad TLS options, a level out of 1-9, and both compressions', () => {
    for (const bad of [{ tls: { ca: 5 } }, { tls: { verify: true } }, { deflateLevel: 10 }, { snappy: true, deflate: true }]) {
      expect(() => parseOptions(ProducerOptionsSchema, { ...base, ...bad }, 'producer')).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTIONS' }));
    }
  });

  it('follow the answer: upgrades in nsqd\'s order, a feature not asked for or TLS not offered is an error', () => {
    const answer = (overrides: Record<string, unknown>) => IdentifyResponseSchema.parse(JSON.parse(nsqdIdentifyAnswer(overrides)));
    const options = (extra: object) => parseOptions(ProducerOptionsSchema, { ...base, ...extra }, 'producer');
    expect(upgradeSteps(answer({ tls_v1: true, deflate: true }), options({ tls: true, deflate: true }), 'a')).toEqual(['tls', 'deflate']);
    expect(upgradeSteps(answer({ snappy: true }), options({ snappy: true }), 'a')).toEqual(['snappy']);
    expect(upgradeSteps(answer({}), options({ snappy: true }), 'a')).toEqual([]);
    expect(() => upgradeSteps(answer({}), options({ tls: true }), 'a')).toThrow(expect.objectContaining({ code: 'E_TLS_FAILED' }));
    expect(() => upgradeSteps(answer({ deflate: true }), options({}), 'a')).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED_FEATURE' }));
  });

  it('send SNI for names only, and keep the given servername', () => {
    expect(tlsConnectOptions(true, 'nsqd.example')).toEqual({ host: 'nsqd.example', servername: 'nsqd.example' });
    expect(tlsConnectOptions(true, '10.0.0.1')).toEqual({ host: '10.0.0.1' });
    expect(tlsConnectOptions({ servername: 'other', rejectUnauthorized: false }, '10.0.0.1')).toEqual({ host: '10.0.0.1', servername: 'other', rejectUnauthorized: false });
  });
});
