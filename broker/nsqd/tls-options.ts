/**
 * The broker's TLS, compression and AUTH options, declared as nsqd v1.3.0 declares them
 * (`nsqd/options.go`, `apps/nsqd/options.go`): same flag names, same defaults, with one documented
 * difference — `--tls-min-version` defaults to `tls1.2`, not nsqd's `tls1.0`, because Node's OpenSSL 3
 * refuses TLS 1.0/1.1 at its default security level (asking for `tls1.0` lowers that level).
 */
// zod/mini, as options.ts: the broker's bundle takes its functions one by one.
import * as z from 'zod/mini';

/** `--tls-required`: `false` (default), `tcp-https` (TLS on TCP only), `true` (TCP and HTTP). */
export const TlsRequired = { No: 'false', ExceptHttp: 'tcp-https', Yes: 'true' } as const;
export type TlsRequired = (typeof TlsRequired)[keyof typeof TlsRequired];

/** nsqd's `--tls-min-version` names and the TLS protocol numbers `/config/tls_min_version` reports. */
export const TLS_VERSIONS = { 'ssl3.0': 0x0300, 'tls1.0': 0x0301, 'tls1.1': 0x0302, 'tls1.2': 0x0303, 'tls1.3': 0x0304 } as const;
export type TlsMinVersion = keyof typeof TLS_VERSIONS;

const tlsRequired = z.pipe(
  z.union([z.boolean(), z.enum(['false', 'tcp-https', 'true'])]),
  z.transform((value): TlsRequired => (value === true ? 'true' : value === false ? 'false' : value)),
);

const tlsMinVersion = z.enum(Object.keys(TLS_VERSIONS) as [TlsMinVersion, ...TlsMinVersion[]]);
const text = (fallback: string) => z._default(z.string(), fallback);
const flag = (fallback: boolean) => z._default(z.boolean(), fallback);
const ms = (fallback: number) => z._default(z.int().check(z.minimum(1)), fallback);

/** nsqd keeps `--tls-required` as a number, which `/config/tls_required` shows. */
export const TLS_REQUIRED_NUMBER: Record<TlsRequired, number> = { false: 0, 'tcp-https': 1, true: 2 };

export const TLS_AND_AUTH_OPTIONS = {
  /** PEM certificate file; TLS is offered only with both `tlsCert` and `tlsKey`. */
  tlsCert: text(''),
  /** PEM private key file of `tlsCert`. */
  tlsKey: text(''),
  /** PEM CA bundle that client certificates are verified against (and auth servers over https). */
  tlsRootCaFile: text(''),
  /** `''` (no client certificate asked), `require` (any certificate), `require-verify` (one signed by the CA). Either implies `tlsRequired: 'true'`. */
  tlsClientAuthPolicy: z._default(z.enum(['', 'require', 'require-verify']), ''),
  tlsRequired: z._default(tlsRequired, 'false'),
  /** Lowest TLS version accepted. Default `tls1.2` (nsqd: `tls1.0`; see the module comment). */
  tlsMinVersion: z._default(tlsMinVersion, 'tls1.2'),
  /** `<addr>:<port>` of the HTTPS API, served only when `tlsCert` and `tlsKey` are set. */
  httpsAddress: text('0.0.0.0:4152'),
  /** Offer snappy to clients that ask (IDENTIFY `snappy`). */
  snappy: flag(true),
  /** Offer deflate to clients that ask (IDENTIFY `deflate`). */
  deflate: flag(true),
  /** Auth servers, `host:port` (queried as `http://host:port/auth`) or full URLs; any makes AUTH required. */
  authHttpAddresses: z._default(z.array(z.string()), []),
  /** Connect timeout of queries to auth servers. */
  httpClientConnectTimeoutMs: ms(2000),
  /** Whole-request timeout of queries to auth servers. */
  httpClientRequestTimeoutMs: ms(5000),
};
