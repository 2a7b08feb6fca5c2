/**
 * The bundled nsqd's options: one declaration per option, holding its nsqd flag name, default and
 * bounds, so the command line, `startBroker()` and `/config/:opt` agree. Durations are milliseconds
 * here and carry `Ms` in their names; flags take nsqd's Go forms (`60s`, `250ms`).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { crc32 } from 'node:zlib';
// zod/mini: its functions are bundled one by one (scripts/bundle.mjs), where the chained
// API would bring all of zod into the broker's idle footprint.
import * as z from 'zod/mini';
import { ENGLISH } from '../../protocol/zod-english.ts';
import type { Logger } from 'pino';
import { CodedError } from '../../protocol/coded-error.ts';
import type { SameShape } from '../../protocol/same-shape.ts';
import type { BrokerOptionsInput } from './options-input.ts';
import { TLS_AND_AUTH_OPTIONS, TLS_REQUIRED_NUMBER, TLS_VERSIONS, type TlsMinVersion, type TlsRequired } from './tls-options.ts';

/** nsqd's default node id: crc32(md5(hostname)) % 1024. */
function defaultNodeId(): number {
  const digest = createHash('md5').update(hostname()).digest();
  return crc32(digest) % 1024;
}

/** An integer option of at least `min`, with its default. */
const int = (min: number, fallback: number | (() => number), max?: number) =>
  z._default(max === undefined ? z.int().check(z.minimum(min)) : z.int().check(z.minimum(min), z.maximum(max)), fallback);
const text = (fallback: string | (() => string)) => z._default(z.string(), fallback);

export const BrokerOptionsSchema = z.strictObject({
  tcpAddress: text('0.0.0.0:4150'),
  httpAddress: text('0.0.0.0:4151'),
  broadcastAddress: text(() => hostname()),
  /** The ports registered with lookupd; 0 (the default) registers the ports listened on (nsqd/nsqd.go). */
  broadcastTcpPort: int(0, 0),
  broadcastHttpPort: int(0, 0),
  dataPath: text(() => process.cwd()),
  memQueueSize: int(0, 10_000),
  maxBytesPerFile: int(1, 104_857_600),
  syncEvery: int(1, 2500),
  syncTimeoutMs: int(1, 2000),
  msgTimeoutMs: int(1, 60_000),
  maxMsgTimeoutMs: int(1, 900_000),
  maxMsgSize: int(1, 1_048_576),
  maxBodySize: int(1, 5_242_880),
  maxReqTimeoutMs: int(0, 3_600_000),
  clientTimeoutMs: int(1, 60_000),
  maxHeartbeatIntervalMs: int(1, 60_000),
  maxRdyCount: int(1, 2500),
  maxOutputBufferSize: int(1, 65_536),
  maxOutputBufferTimeoutMs: int(1, 30_000),
  minOutputBufferTimeoutMs: int(0, 25),
  outputBufferTimeoutMs: int(1, 250),
  maxChannelConsumers: int(0, 0),
  maxDeflateLevel: int(1, 6, 9),
  ...TLS_AND_AUTH_OPTIONS,
  nodeId: int(0, defaultNodeId, 1023),
  lookupdTcpAddresses: z._default(z.array(z.string()), []),
  logger: z.optional(z.custom<Logger>()),
});

export type BrokerOptions = z.output<typeof BrokerOptionsSchema>;
export type { BrokerOptionsInput } from './options-input.ts';
// The documented interface is the schema's input, field for field: a change to one that the other
// misses fails the type check here.
const inputMatches: SameShape<BrokerOptionsInput, z.input<typeof BrokerOptionsSchema>> = true;
void inputMatches;

/** startBroker's options failed validation: a bad value, or a key it does not know (`msgTimeout` for `msgTimeoutMs`). */
export class BrokerOptionsError extends CodedError<'E_BROKER_INVALID_OPTIONS'> {
  override readonly name = 'BrokerOptionsError';
}

/**
 * Validates `startBroker`'s options and fills nsqd's defaults. Throws {@link BrokerOptionsError}
 * `E_BROKER_INVALID_OPTIONS` naming each problem (`memQueueSize: Too small: expected number to be >=0`,
 * `Unrecognized key: "msgTimeout"`).
 */
export function resolveBrokerOptions(input: BrokerOptionsInput): BrokerOptions {
  const parsed = BrokerOptionsSchema.safeParse(input, ENGLISH);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`));
  throw new BrokerOptionsError('E_BROKER_INVALID_OPTIONS', `invalid broker options: ${problems.join('; ')}`, { cause: parsed.error });
}

/** `switch`: a flag that may stand alone (`--snappy` is true) or take a value (`--snappy=false`, `--tls-required=tcp-https`). */
export type FlagKind = 'string' | 'int' | 'duration' | 'list' | 'switch';

export interface BrokerFlag {
  /** nsqd's flag name, without the dashes. */
  flag: string;
  option: Exclude<keyof BrokerOptions, 'logger'>;
  kind: FlagKind;
  description: string;
  /** nsqd's `/config/:opt` name when it is not the flag name with `_` for `-`. */
  configName?: string;
  /** nsqd's `/config/:opt` value when it is not the option's own (nsqd keeps some options as numbers). */
  configValue?: (value: unknown) => unknown;
}

/** nsqd's TLS, compression and AUTH flags (`apps/nsqd/options.go`). */
const TLS_AND_AUTH_FLAGS: readonly BrokerFlag[] = [
  { flag: 'https-address', option: 'httpsAddress', kind: 'string', description: '<addr>:<port> to listen on for HTTPS clients' },
  { flag: 'auth-http-address', option: 'authHttpAddresses', kind: 'list', configName: 'auth_http_addresses', description: '<addr>:<port> or a full url to query auth server (may be given multiple times)' },
  { flag: 'http-client-connect-timeout', option: 'httpClientConnectTimeoutMs', kind: 'duration', description: 'timeout for HTTP connect' },
  { flag: 'http-client-request-timeout', option: 'httpClientRequestTimeoutMs', kind: 'duration', description: 'timeout for HTTP request' },
  { flag: 'tls-cert', option: 'tlsCert', kind: 'string', description: 'path to certificate file' },
  { flag: 'tls-key', option: 'tlsKey', kind: 'string', description: 'path to key file' },
  { flag: 'tls-client-auth-policy', option: 'tlsClientAuthPolicy', kind: 'string', description: "client certificate auth policy ('require' or 'require-verify')" },
  { flag: 'tls-root-ca-file', option: 'tlsRootCaFile', kind: 'string', description: 'path to certificate authority file' },
  {
    flag: 'tls-required',
    option: 'tlsRequired',
    kind: 'switch',
    description: 'require TLS for client connections (true, false, tcp-https)',
    configValue: (value) => TLS_REQUIRED_NUMBER[value as TlsRequired],
  },
  {
    flag: 'tls-min-version',
    option: 'tlsMinVersion',
    kind: 'string',
    description: "minimum SSL/TLS version acceptable ('tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3'; default tls1.2, nsqd's is tls1.0)",
    configValue: (value) => TLS_VERSIONS[value as TlsMinVersion],
  },
  { flag: 'deflate', option: 'deflate', kind: 'switch', description: 'enable deflate feature negotiation (client compression)' },
  { flag: 'snappy', option: 'snappy', kind: 'switch', description: 'enable snappy feature negotiation (client compression)' },
];

/** The command-line flags of `nsqworker broker`, named as nsqd names them. */
export const BROKER_FLAGS: readonly BrokerFlag[] = [
  { flag: 'tcp-address', option: 'tcpAddress', kind: 'string', description: '<addr>:<port> to listen on for TCP clients' },
  { flag: 'http-address', option: 'httpAddress', kind: 'string', description: '<addr>:<port> to listen on for HTTP clients' },
  { flag: 'broadcast-address', option: 'broadcastAddress', kind: 'string', description: 'address registered with lookupd (defaults to the host name)' },
  { flag: 'broadcast-tcp-port', option: 'broadcastTcpPort', kind: 'int', description: 'TCP port registered with lookupd (defaults to the TCP port listened on)' },
  { flag: 'broadcast-http-port', option: 'broadcastHttpPort', kind: 'int', description: 'HTTP port registered with lookupd (defaults to the HTTP port listened on)' },
  { flag: 'data-path', option: 'dataPath', kind: 'string', description: 'path to store disk-backed messages' },
  { flag: 'mem-queue-size', option: 'memQueueSize', kind: 'int', description: 'number of messages to keep in memory (per topic/channel)' },
  { flag: 'max-bytes-per-file', option: 'maxBytesPerFile', kind: 'int', description: 'number of bytes per diskqueue file before rolling' },
  { flag: 'sync-every', option: 'syncEvery', kind: 'int', description: 'number of messages per diskqueue fsync' },
  { flag: 'sync-timeout', option: 'syncTimeoutMs', kind: 'duration', description: 'duration of time per diskqueue fsync' },
  { flag: 'msg-timeout', option: 'msgTimeoutMs', kind: 'duration', description: 'default duration to wait before auto-requeing a message' },
  { flag: 'max-msg-timeout', option: 'maxMsgTimeoutMs', kind: 'duration', description: 'maximum duration before a message will timeout' },
  { flag: 'max-msg-size', option: 'maxMsgSize', kind: 'int', description: 'maximum size of a single message in bytes' },
  { flag: 'max-body-size', option: 'maxBodySize', kind: 'int', description: 'maximum size of a single command body' },
  { flag: 'max-req-timeout', option: 'maxReqTimeoutMs', kind: 'duration', description: 'maximum requeuing timeout for a message' },
  { flag: 'max-heartbeat-interval', option: 'maxHeartbeatIntervalMs', kind: 'duration', description: 'maximum client configurable duration of time between client heartbeats' },
  { flag: 'max-rdy-count', option: 'maxRdyCount', kind: 'int', description: 'maximum RDY count for a client' },
  { flag: 'max-output-buffer-size', option: 'maxOutputBufferSize', kind: 'int', description: 'maximum client configurable size (in bytes) for a client output buffer' },
  { flag: 'max-output-buffer-timeout', option: 'maxOutputBufferTimeoutMs', kind: 'duration', description: 'maximum client configurable duration of time between flushing to a client' },
  { flag: 'min-output-buffer-timeout', option: 'minOutputBufferTimeoutMs', kind: 'duration', description: 'minimum client configurable duration of time between flushing to a client' },
  { flag: 'output-buffer-timeout', option: 'outputBufferTimeoutMs', kind: 'duration', description: 'default duration of time between flushing data to clients' },
  { flag: 'max-channel-consumers', option: 'maxChannelConsumers', kind: 'int', description: 'maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)' },
  { flag: 'node-id', option: 'nodeId', kind: 'int', configName: 'id', description: 'unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)' },
  { flag: 'lookupd-tcp-address', option: 'lookupdTcpAddresses', kind: 'list', description: 'lookupd TCP address (may be given multiple times)' },
  { flag: 'max-deflate-level', option: 'maxDeflateLevel', kind: 'int', description: 'max deflate compression level a client can negotiate (> values == > nsqd CPU usage)' },
  ...TLS_AND_AUTH_FLAGS,
];

/** nsqd reports its version as 1.3.0; clients and nsqadmin parse it, so we answer as that version. */
export const NSQD_VERSION = '1.3.0';
