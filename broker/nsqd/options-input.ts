/**
 * What `startBroker(options)` takes, as a documented interface: an editor shows each option's unit and
 * default. Names are nsqd v1.3.0's flags in camelCase, durations in milliseconds (`msgTimeoutMs` for
 * `--msg-timeout`), defaults nsqd's (nsqd/options.go), so: every interface, ports 4150/4151/4152, and
 * the current folder for data unless given. options.ts checks them at run time and asserts at compile
 * time that this interface is exactly its schema's input.
 */
import type { Logger } from 'pino';
import type { TlsMinVersion } from './tls-options.ts';

export interface BrokerOptionsInput {
  /** `host:port` of the TCP protocol; port 0 picks a free one. Default: `0.0.0.0:4150`. */
  tcpAddress?: string;
  /** `host:port` of the HTTP API. Default: `0.0.0.0:4151`. */
  httpAddress?: string;
  /** The host lookupd tells consumers. Default: the host name. */
  broadcastAddress?: string;
  /** The TCP port registered with lookupd; 0 registers the port listened on. Default: 0. */
  broadcastTcpPort?: number;
  /** The HTTP port registered with lookupd; 0 registers the port listened on. Default: 0. */
  broadcastHttpPort?: number;
  /** Folder of the disk queues and metadata, locked while the broker runs. Default: the current folder. */
  dataPath?: string;
  /** Messages kept in memory per topic and per channel before the rest go to disk; 0 = all on disk. Default: 10000. */
  memQueueSize?: number;
  /** Bytes per disk queue file before the next one starts. Default: 104857600. */
  maxBytesPerFile?: number;
  /** Disk queue reads and writes between fsyncs. Default: 2500. */
  syncEvery?: number;
  /** Longest time between disk queue fsyncs, ms. Default: 2000. */
  syncTimeoutMs?: number;
  /** Time a message may stay in flight before it is requeued, ms. Default: 60000. */
  msgTimeoutMs?: number;
  /** Largest in-flight timeout a client may ask for (IDENTIFY msg_timeout, TOUCH), ms. Default: 900000. */
  maxMsgTimeoutMs?: number;
  /** Largest message, bytes. Default: 1048576. */
  maxMsgSize?: number;
  /** Largest command body (an MPUB's), bytes. Default: 5242880. */
  maxBodySize?: number;
  /** Longest REQ or DPUB delay, ms. Default: 3600000. */
  maxReqTimeoutMs?: number;
  /** Heartbeat interval of a client that does not IDENTIFY one is half of this, ms. Default: 60000. */
  clientTimeoutMs?: number;
  /** Longest heartbeat interval a client may ask for, ms. Default: 60000. */
  maxHeartbeatIntervalMs?: number;
  /** Largest RDY count a client may send. Default: 2500. */
  maxRdyCount?: number;
  /** Largest output buffer a client may ask for, bytes. Default: 65536. */
  maxOutputBufferSize?: number;
  /** Longest output buffer timeout a client may ask for, ms. Default: 30000. */
  maxOutputBufferTimeoutMs?: number;
  /** Shortest output buffer timeout a client may ask for, ms. Default: 25. */
  minOutputBufferTimeoutMs?: number;
  /** Output buffer timeout of a client that asks for none, ms. Default: 250. */
  outputBufferTimeoutMs?: number;
  /** Most consumers per channel; 0 = no limit. Default: 0. */
  maxChannelConsumers?: number;
  /** Highest deflate level a client may ask for, 1-9. Default: 6. */
  maxDeflateLevel?: number;
  /** PEM certificate file; TLS is offered only with both `tlsCert` and `tlsKey`. Default: none. */
  tlsCert?: string;
  /** PEM private key file of `tlsCert`. Default: none. */
  tlsKey?: string;
  /** PEM CA file client certificates (and https auth servers) are verified against. Default: none. */
  tlsRootCaFile?: string;
  /** `require` (any client certificate) or `require-verify` (one the CA signs); either implies `tlsRequired: 'true'`. Default: `''` (none asked). */
  tlsClientAuthPolicy?: '' | 'require' | 'require-verify';
  /** `'true'` (TCP and HTTP need TLS), `'tcp-https'` (TCP only), `'false'`; booleans too. Default: `'false'`. */
  tlsRequired?: boolean | 'false' | 'tcp-https' | 'true';
  /** Lowest TLS version accepted. Default: `tls1.2` (nsqd's is `tls1.0`, which Node's OpenSSL refuses unless asked). */
  tlsMinVersion?: TlsMinVersion;
  /** `host:port` of the HTTPS API, served with a certificate and key. Default: `0.0.0.0:4152`. */
  httpsAddress?: string;
  /** Offer snappy to clients that ask. Default: true. */
  snappy?: boolean;
  /** Offer deflate to clients that ask. Default: true. */
  deflate?: boolean;
  /** Auth servers, `host:port` (GET `/auth`) or URLs, tried in turn; any makes AUTH required. Default: none. */
  authHttpAddresses?: string[];
  /** Connect timeout of auth server queries, ms. Default: 2000. */
  httpClientConnectTimeoutMs?: number;
  /** Whole-request timeout of auth server queries, ms. Default: 5000. */
  httpClientRequestTimeoutMs?: number;
  /** Node part of message ids, 0-1023. Default: a hash of the host name. */
  nodeId?: number;
  /** lookupd TCP addresses to register with (`PUT /config/nsqlookupd_tcp_addresses` changes them). Default: none. */
  lookupdTcpAddresses?: string[];
  /** Where the broker logs (pino). Default: silent. */
  logger?: Logger;
}
