/**
 * The options the Consumer and the Producer take, as documented interfaces: what an editor shows on
 * hover, with units and defaults. The zod schemas in options.ts check them at run time and hold the
 * same defaults; options.ts asserts at compile time that each interface is exactly its schema's input.
 * Names and defaults follow go-nsq's Config and nsqd's IDENTIFY (nsqd/protocol_v2.go).
 */
import type { PublishRetryOptions } from './publish-retry.ts';

/** Node TLS options for `tls.connect`, as the `tls` option takes them. */
export interface TlsOptionsInput {
  /** CA certificates (PEM) that sign nsqd's certificate. Default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate (PEM), for an nsqd run with `--tls-client-auth-policy`. */
  cert?: string | Buffer | Array<string | Buffer>;
  /** Private key (PEM) of the client certificate. */
  key?: string | Buffer | Array<string | Buffer>;
  /** Name checked against nsqd's certificate. Default: the host dialled. */
  servername?: string;
  /** `false` accepts a certificate that does not verify (insecure). Default: true. */
  rejectUnauthorized?: boolean;
}

/** IDENTIFY fields and socket behaviour, shared by the Consumer and the Producer. */
export interface ConnectionOptionsInput {
  /** IDENTIFY `client_id`. Default: the short host name. */
  clientId?: string;
  /** IDENTIFY `hostname`. Default: `os.hostname()`. */
  hostname?: string;
  /** IDENTIFY `user_agent`. Default: `nsqworker/<version>`. */
  userAgent?: string;
  /**
   * Heartbeat interval asked of nsqd, ms, at least 1000 (and at most nsqd's
   * `--max-heartbeat-interval`). Nothing read for twice this closes the connection. Default: 30000.
   */
  heartbeatIntervalMs?: number;
  /** nsqd's output buffer for this client, bytes; -1 disables it. Default: nsqd's (16384). */
  outputBufferSize?: number;
  /** nsqd's output buffer timeout for this client, ms; -1 disables it. Default: nsqd's (250). */
  outputBufferTimeoutMs?: number;
  /** In-flight timeout for this client's messages, ms, at least 1000. Default: nsqd's `--msg-timeout` (60000). */
  msgTimeoutMs?: number;
  /** Percent of the channel's messages nsqd delivers to this client, 0-99 (0 = all). Default: 0. */
  sampleRate?: number;
  /** Timeout of the TCP connect plus IDENTIFY (and TLS, AUTH), ms. Default: 5000. */
  connectTimeoutMs?: number;
  /** Secret for AUTH, sent when nsqd requires it (after any TLS upgrade; never logged). */
  authSecret?: string;
  /**
   * TLS after IDENTIFY: `true` (Node's defaults) or TLS options. A connection fails with
   * `E_TLS_FAILED` when nsqd does not offer TLS or its certificate does not verify. Default: false.
   */
  tls?: boolean | TlsOptionsInput;
  /** Snappy compression both ways (not with `deflate`: nsqd refuses the pair). Default: false. */
  snappy?: boolean;
  /** Raw deflate compression both ways (not with `snappy`). Default: false. */
  deflate?: boolean;
  /** Deflate level, 1-9, both ways (nsqd caps its own at `--max-deflate-level`). Default: 6. */
  deflateLevel?: number;
  /** Largest frame accepted from nsqd, bytes, at least 1024. Default: 67108864 (64 MiB). */
  maxFrameSize?: number;
}

/** What `new Consumer(options, handler)` takes: one topic and channel, read from nsqd directly or through lookupd. */
export interface ConsumerOptionsInput extends ConnectionOptionsInput {
  /** The topic: `^[.a-zA-Z0-9_-]+(#ephemeral)?$`, 1-64 bytes. */
  topic: string;
  /** The channel, named as a topic is. */
  channel: string;
  /** nsqd TCP addresses (`host:port`) to subscribe to directly. Default: none (give these or `lookupdHttpAddresses`). */
  nsqdTcpAddresses?: string[];
  /** nsqlookupd HTTP addresses (`host:port` or a URL) to find the topic's nsqd through. Default: none. */
  lookupdHttpAddresses?: string[];
  /** Most messages in flight over all connections (the RDY spread over them); 0 pauses. Default: 1. */
  maxInFlight?: number;
  /** Attempts before a message is given up on (FINed, `onGiveUp` told); 0 = never, which lets a poison message loop for ever. Default: 5. */
  maxAttempts?: number;
  /** Requeue delay of a failed message, ms, times its attempts (a handler that throws). Default: 90000. */
  requeueDelayMs?: number;
  /** Cap of that computed requeue delay, ms. Default: 900000 (15 min). */
  maxRequeueDelayMs?: number;
  /** Backoff unit, ms: after n failures in a row, RDY 0 for multiplier × 2^n. Default: 1000. */
  backoffMultiplierMs?: number;
  /** Longest backoff pause, ms; 0 disables backoff. Default: 120000. */
  maxBackoffDurationMs?: number;
  /** Pause a random time in [0, multiplier × 2^n) instead. Default: false. */
  backoffFullJitter?: boolean;
  /** Interval between lookupd polls, ms, at least 10. Default: 60000. */
  lookupdPollIntervalMs?: number;
  /** Part of the poll interval added as random jitter, 0-1. Default: 0.3. */
  lookupdPollJitter?: number;
  /** Timeout of one lookupd query, ms. Default: 5000. */
  lookupdRequestTimeoutMs?: number;
  /** How often RDY moves between connections when maxInFlight is below their number, ms, at least 10. Default: 5000. */
  rdyRedistributeIntervalMs?: number;
  /** A connection with no message for this long gives its RDY to the others, ms. Default: 10000. */
  lowRdyIdleTimeoutMs?: number;
  /** First reconnect delay to a direct nsqd address, ms; doubles up to `reconnectMaxDelayMs`. Default: 1000. */
  reconnectInitialDelayMs?: number;
  /** Cap of the reconnect delay, ms. Default: 60000. */
  reconnectMaxDelayMs?: number;
  /** How long `close()` waits for running handlers and nsqd's CLOSE_WAIT, ms. Default: 30000. */
  closeTimeoutMs?: number;
  /** TOUCH a message whose handler runs past half its msg timeout. Default: false. */
  autoTouch?: boolean;
}

/** What `new Producer(options)` takes. */
export interface ProducerOptionsInput extends ConnectionOptionsInput {
  /** nsqd TCP addresses (`host:port`), at least one: the first is used, the next ones on failure. */
  nsqdTcpAddresses: string[];
  /** Largest body, bytes, checked before sending (nsqd's `--max-msg-size`). Default: 1048576. */
  maxMessageBytes?: number;
  /** Largest MPUB body, bytes (nsqd's `--max-body-size`). Default: 5242880. */
  maxBatchBytes?: number;
  /** Longest DPUB delay, ms (nsqd's `--max-req-timeout`). Default: 3600000. */
  maxDeferMs?: number;
  /** How long `close()` waits for the answers to publishes still out, ms. Default: 30000. */
  closeTimeoutMs?: number;
  /**
   * Publish again, on the next nsqd, after a refusal (`E_PUB_FAILED`…) or a connection lost before
   * the answer, with exponential backoff: at least once, so a repeat is possible. Default: off.
   */
  retry?: Partial<PublishRetryOptions>;
}
