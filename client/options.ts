/**
 * Option schemas for the consumer, the producer and the connection they share. One zod schema
 * per option set holds the type, the bounds, the default and the help text; {@link parseOptions}
 * turns a validation failure into a typed error.
 */
import { z } from 'zod';
import { isValidChannelName, isValidTopicName } from '../protocol/names.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';
import { PublishRetrySchema } from './publish-retry.ts';
import { CLIENT_VERSION } from './version.ts';
import { didYouMean } from '../protocol/suggest.ts';
import type { ConsumerOptionsInput, ProducerOptionsInput, TlsOptionsInput } from './options-input.ts';
import type { SameShape } from '../protocol/same-shape.ts';
import { hostname } from 'node:os';

const int = z.number().int();

type Pem = string | Buffer | Array<string | Buffer>;
const pem = z.custom<Pem>(
  (value) => typeof value === 'string' || Buffer.isBuffer(value) || (Array.isArray(value) && value.every((v) => typeof v === 'string' || Buffer.isBuffer(v))),
  { message: 'expected PEM text or a Buffer (or a list of them)' },
);

/** Node TLS options a connection passes to `tls.connect`. */
export const TlsOptionsSchema = z
  .object({
    ca: pem.optional().describe('CA certificates that sign nsqd\'s certificate (default: Node\'s bundled roots)'),
    cert: pem.optional().describe('Client certificate, for nsqd run with --tls-client-auth-policy'),
    key: pem.optional().describe('Private key of the client certificate'),
    servername: z.string().optional().describe('Name checked against nsqd\'s certificate (default: the host dialled)'),
    rejectUnauthorized: z.boolean().optional().describe('false accepts a certificate that does not verify (insecure; default true)'),
  })
  .strict();

/** `true` (TLS with Node's defaults), `false` (plain), or the TLS options to use. */
export type TlsOption = boolean | z.infer<typeof TlsOptionsSchema>;
const ms = (description: string) => int.min(0).describe(description);

/** IDENTIFY fields and socket behaviour, shared by consumers and producers. */
export const ConnectionOptionsShape = {
  clientId: z.string().optional().describe('IDENTIFY client_id (default: the short hostname)'),
  hostname: z.string().optional().describe('IDENTIFY hostname (default: os.hostname())'),
  userAgent: z.string().default(`nsqworker/${CLIENT_VERSION}`).describe('IDENTIFY user_agent'),
  // No upper bound here: nsqd's --max-heartbeat-interval decides, and its IDENTIFY answer says so
  // (go-nsq has no cap either); a cap here would refuse what the server accepts.
  heartbeatIntervalMs: int
    .min(1000)
    .default(30_000)
    .describe("Heartbeat interval asked of nsqd, ms (up to nsqd's --max-heartbeat-interval); nothing read for twice this closes the connection"),
  outputBufferSize: int.min(-1).optional().describe('nsqd output buffer size, bytes (-1 disables, omitted = server default)'),
  outputBufferTimeoutMs: int.min(-1).optional().describe('nsqd output buffer timeout, ms (-1 disables, omitted = server default)'),
  msgTimeoutMs: int.min(1000).optional().describe('In-flight timeout for this client, ms (omitted = server default, 60s)'),
  sampleRate: int.min(0).max(99).optional().describe('Percent of messages nsqd delivers to this client (0 = all)'),
  connectTimeoutMs: ms('TCP connect plus IDENTIFY timeout, ms').default(5000),
  authSecret: z.string().optional().describe('Secret for AUTH when nsqd requires it (sent after any TLS upgrade; never logged)'),
  tls: z
    .union([z.boolean(), TlsOptionsSchema])
    .default(false)
    .describe('Upgrade to TLS after IDENTIFY: true, or Node TLS options { ca, cert, key, servername, rejectUnauthorized }; fails with E_TLS_FAILED if nsqd does not offer it'),
  snappy: z.boolean().default(false).describe('Ask nsqd for snappy compression both ways (not with deflate)'),
  deflate: z.boolean().default(false).describe('Ask nsqd for raw deflate compression both ways (not with snappy)'),
  deflateLevel: int.min(1).max(9).default(6).describe('Deflate level for both directions, 1-9 (nsqd caps its own at --max-deflate-level)'),
  maxFrameSize: int.min(1024).default(64 * 1024 * 1024).describe('Largest frame accepted from nsqd, bytes'),
};

const ConnectionOptionsSchema = z.object(ConnectionOptionsShape);
const notBothCompressions = (o: { snappy: boolean; deflate: boolean }): boolean => !(o.snappy && o.deflate);
const BOTH_COMPRESSIONS = { message: 'snappy and deflate cannot both be on (nsqd refuses the pair)' };
export type ConnectionOptions = z.infer<typeof ConnectionOptionsSchema>;

const topicName = z.string().refine(isValidTopicName, { message: 'invalid topic name: ^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes' });
const channelName = z
  .string()
  .refine(isValidChannelName, { message: 'invalid channel name: ^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes' });
// No `/` in the host: `http://127.0.0.1:4151` (an HTTP address where the TCP one belongs) is refused here,
// not at the first connect.
const tcpAddress = z.string().regex(/^\[?[^\s\]/]*\]?:\d{1,5}$/, { message: 'expected host:port (an nsqd TCP address, not a URL)' });

export const ConsumerOptionsSchema = z
  .object({
    ...ConnectionOptionsShape,
    topic: topicName,
    channel: channelName,
    nsqdTcpAddresses: z.array(tcpAddress).default([]).describe('nsqd TCP addresses to connect to directly'),
    lookupdHttpAddresses: z.array(z.string().min(1)).default([]).describe('nsqlookupd HTTP addresses (host:port or URL) to poll'),
    maxInFlight: int.min(0).default(1).describe('Most messages in flight over all connections (0 pauses)'),
    maxAttempts: int
      .min(0)
      .default(5)
      .describe('Attempts before giving up on a message (0 = unlimited, which lets a poison message loop forever)'),
    requeueDelayMs: ms('Requeue delay per attempt, ms: a failed message is requeued after delay × attempts').default(90_000),
    maxRequeueDelayMs: ms('Cap of the computed requeue delay, ms').default(15 * 60_000),
    backoffMultiplierMs: int.min(1).default(1000).describe('Backoff unit, ms: level n waits multiplier × 2^n'),
    maxBackoffDurationMs: ms('Longest backoff wait, ms (0 disables backoff)').default(120_000),
    backoffFullJitter: z.boolean().default(false).describe('Wait a random time in [0, multiplier × 2^n) instead'),
    lookupdPollIntervalMs: int.min(10).default(60_000).describe('Interval between lookupd polls, ms'),
    lookupdPollJitter: z.number().min(0).max(1).default(0.3).describe('Fraction of the interval used as random jitter'),
    lookupdRequestTimeoutMs: int.min(1).default(5000).describe('Timeout of one lookupd query, ms'),
    rdyRedistributeIntervalMs: int.min(10).default(5000).describe('How often RDY rotates when maxInFlight < connections, ms'),
    lowRdyIdleTimeoutMs: int.min(0).default(10_000).describe('A connection with no message for this long loses its RDY to others, ms'),
    reconnectInitialDelayMs: int.min(1).default(1000).describe('First reconnect delay to a direct nsqd address, ms'),
    reconnectMaxDelayMs: int.min(1).default(60_000).describe('Cap of the exponential reconnect delay, ms'),
    closeTimeoutMs: ms('How long close() waits for running handlers and CLOSE_WAIT, ms').default(30_000),
    autoTouch: z.boolean().default(false).describe('TOUCH messages whose handler runs longer than half the msg timeout'),
  })
  .strict()
  .refine((o) => o.nsqdTcpAddresses.length > 0 || o.lookupdHttpAddresses.length > 0, {
    message: 'give nsqdTcpAddresses or lookupdHttpAddresses',
  })
  .refine(notBothCompressions, BOTH_COMPRESSIONS);

export type ConsumerOptions = z.output<typeof ConsumerOptionsSchema>;

export const ProducerOptionsSchema = z.object({
  ...ConnectionOptionsShape,
  nsqdTcpAddresses: z.array(tcpAddress).min(1).describe('nsqd TCP addresses; the first is used, the next ones on failure'),
  maxMessageBytes: int.min(1).default(1024 * 1024).describe("Largest body, bytes (nsqd's --max-msg-size)"),
  maxBatchBytes: int.min(1).default(5 * 1024 * 1024).describe("Largest MPUB body, bytes (nsqd's --max-body-size)"),
  maxDeferMs: int.min(0).default(3_600_000).describe("Longest DPUB delay, ms (nsqd's --max-req-timeout)"),
  closeTimeoutMs: ms('How long close() waits for outstanding answers, ms').default(30_000),
  retry: PublishRetrySchema.optional().describe(
    'Re-publish a refused or unconfirmed publish on the next nsqd with exponential backoff (at least once: may duplicate); off by default',
  ),
}).strict().refine(notBothCompressions, BOTH_COMPRESSIONS);

export type ProducerOptions = z.output<typeof ProducerOptionsSchema>;

export type { ConnectionOptionsInput, ConsumerOptionsInput, ProducerOptionsInput, TlsOptionsInput } from './options-input.ts';

// The documented interfaces are the schemas' inputs, field for field: a change to one that the other
// misses fails the type check here.
const inputsMatch: [
  SameShape<ConsumerOptionsInput, z.input<typeof ConsumerOptionsSchema>>,
  SameShape<ProducerOptionsInput, z.input<typeof ProducerOptionsSchema>>,
  SameShape<TlsOptionsInput, z.input<typeof TlsOptionsSchema>>,
] = [true, true, true];
void inputsMatch;

/**
 * Validates options, throwing {@link NsqClientError} `E_INVALID_OPTIONS` with every problem listed.
 * An unknown key is refused, with the nearest known one: options passed through a variable escape
 * TypeScript's excess-property check, and a misspelt `maxInflight` (or nsqjs's `requeueDelay`, in
 * seconds) would otherwise leave the default in force without a word.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // An unknown key first: it is likely the cause of the rest (`nsqdTCPAddresses` leaves nsqdTcpAddresses missing).
  const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const problems = issues.flatMap((issue) => {
    const at = issue.path.join('.');
    if (issue.code !== 'unrecognized_keys') return [`${at || '(options)'}: ${issue.message}`];
    const known = knownKeys(schema, issue.path);
    return issue.keys.map((key) => `${at ? `${at}.` : ''}${key}: unknown option${didYouMean(key, known)}`);
  });
  throw new NsqClientError(ClientErrorCode.InvalidOptions, `invalid ${what} options: ${problems.join('; ')}`, {
    cause: result.error,
  });
}

/** The keys an object schema (or the object schema at `path` within it) takes; [] where there is none. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let shape = objectShape(schema);
  for (const key of path) shape = objectShape(shape?.[String(key)]);
  return Object.keys(shape ?? {});
}

/** The shape of an object schema, seen through `.optional()`, `.default()` and a union's object branch (`tls`). */
function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  let at = schema;
  while (at instanceof z.ZodOptional || at instanceof z.ZodDefault) at = at.unwrap() as z.ZodType;
  if (at instanceof z.ZodUnion) at = (at.options as readonly z.ZodType[]).find((option) => option instanceof z.ZodObject);
  return at instanceof z.ZodObject ? (at.shape as Record<string, z.ZodType>) : undefined;
}

/** The IDENTIFY body for these options. */
export function identifyBody(options: ConnectionOptions): Record<string, unknown> {
  const host = options.hostname ?? hostname();
  const body: Record<string, unknown> = {
    client_id: options.clientId ?? host.split('.')[0],
    hostname: host,
    user_agent: options.userAgent,
    feature_negotiation: true,
    heartbeat_interval: options.heartbeatIntervalMs,
    tls_v1: options.tls !== false,
    snappy: options.snappy,
    deflate: options.deflate,
    deflate_level: options.deflateLevel,
  };
  if (options.outputBufferSize !== undefined) body.output_buffer_size = options.outputBufferSize;
  if (options.outputBufferTimeoutMs !== undefined) body.output_buffer_timeout = options.outputBufferTimeoutMs;
  if (options.msgTimeoutMs !== undefined) body.msg_timeout = options.msgTimeoutMs;
  if (options.sampleRate !== undefined) body.sample_rate = options.sampleRate;
  return body;
}
