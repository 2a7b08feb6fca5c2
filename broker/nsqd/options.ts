/**
 * The bundled nsqd's options: one declaration per option, holding its nsqd flag name, default and
 * bounds, so the command line, `startBroker()` and `/config/:opt` agree. Durations are milliseconds
 * here and carry `Ms` in their names; flags take nsqd's Go forms (`60s`, `250ms`).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import type { Logger } from 'pino';

/** nsqd's default node id: crc32(md5(hostname)) % 1024. */
function defaultNodeId(): number {
  const digest = createHash('md5').update(hostname()).digest();
  return crc32(digest) % 1024;
}

const ms = z.number().int().min(0);
const positive = z.number().int().min(1);

export const BrokerOptionsSchema = z.object({
  tcpAddress: z.string().default('0.0.0.0:4150'),
  httpAddress: z.string().default('0.0.0.0:4151'),
  broadcastAddress: z.string().default(() => hostname()),
  dataPath: z.string().default(() => process.cwd()),
  memQueueSize: z.number().int().min(0).default(10_000),
  maxBytesPerFile: positive.default(104_857_600),
  syncEvery: positive.default(2500),
  syncTimeoutMs: positive.default(2000),
  msgTimeoutMs: positive.default(60_000),
  maxMsgTimeoutMs: positive.default(900_000),
  maxMsgSize: positive.default(1_048_576),
  maxBodySize: positive.default(5_242_880),
  maxReqTimeoutMs: ms.default(3_600_000),
  clientTimeoutMs: positive.default(60_000),
  maxHeartbeatIntervalMs: positive.default(60_000),
  maxRdyCount: positive.default(2500),
  maxOutputBufferSize: positive.default(65_536),
  maxOutputBufferTimeoutMs: positive.default(30_000),
  minOutputBufferTimeoutMs: ms.default(25),
  outputBufferTimeoutMs: positive.default(250),
  maxChannelConsumers: z.number().int().min(0).default(0),
  maxDeflateLevel: z.number().int().min(1).max(9).default(6),
  nodeId: z.number().int().min(0).max(1023).default(defaultNodeId),
  lookupdTcpAddresses: z.array(z.string()).default([]),
  logger: z.custom<Logger>().optional(),
});

export type BrokerOptionsInput = z.input<typeof BrokerOptionsSchema>;
export type BrokerOptions = z.output<typeof BrokerOptionsSchema>;

export type FlagKind = 'string' | 'int' | 'duration' | 'list';

export interface BrokerFlag {
  /** nsqd's flag name, without the dashes. */
  flag: string;
  option: Exclude<keyof BrokerOptions, 'logger'>;
  kind: FlagKind;
  description: string;
}

/** The command-line flags of `nsqworker broker`, named as nsqd names them. */
export const BROKER_FLAGS: readonly BrokerFlag[] = [
  { flag: 'tcp-address', option: 'tcpAddress', kind: 'string', description: '<addr>:<port> to listen on for TCP clients' },
  { flag: 'http-address', option: 'httpAddress', kind: 'string', description: '<addr>:<port> to listen on for HTTP clients' },
  { flag: 'broadcast-address', option: 'broadcastAddress', kind: 'string', description: 'address registered with lookupd (defaults to the host name)' },
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
  { flag: 'node-id', option: 'nodeId', kind: 'int', description: 'unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)' },
  { flag: 'lookupd-tcp-address', option: 'lookupdTcpAddresses', kind: 'list', description: 'lookupd TCP address (may be given multiple times)' },
];

/** nsqd reports its version as 1.3.0; clients and nsqadmin parse it, so we answer as that version. */
export const NSQD_VERSION = '1.3.0';
