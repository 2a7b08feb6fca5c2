/**
 * `/stats`: the broker's counters in nsqd's JSON shape (field names and order as nsqd v1.3.0 writes
 * them, which nsqadmin and nsq_stat read). The text form is in stats-text.ts.
 */
import type { Channel } from './channel.ts';
import type { ClientConnection } from './client-connection.ts';
import type { Nsqd } from './nsqd.ts';
import { NSQD_VERSION } from './options.ts';
import type { Topic } from './topic.ts';

export interface StatsQuery {
  topic: string | undefined;
  channel: string | undefined;
  includeClients: boolean;
  includeMem: boolean;
}

const E2E_EMPTY = { count: 0, percentiles: null };

/** nsqd's `authed`, `auth_identity` and `auth_identity_url`, each left out when empty (`omitempty`). */
function authStats(client: ClientConnection): { authed?: true; auth_identity?: string; auth_identity_url?: string } {
  const state = client.authState;
  if (state === undefined) return {};
  return {
    ...(state.authorizations.length > 0 ? { authed: true as const } : {}),
    ...(state.identity !== '' ? { auth_identity: state.identity } : {}),
    ...(state.identityUrl !== '' ? { auth_identity_url: state.identityUrl } : {}),
  };
}

/** Go's names for TLS versions, as nsqd's prettyConnectionState prints them. */
const GO_TLS_VERSION: Record<string, string> = { TLSv1: 'TLS1.0', 'TLSv1.1': 'TLS1.1', 'TLSv1.2': 'TLS1.2', 'TLSv1.3': 'TLS1.3' };

function tlsStats(client: ClientConnection) {
  const socket = client.transport.tlsSocket;
  const version = socket?.getProtocol() ?? null;
  return {
    tls: socket !== undefined,
    // Node names the suite as OpenSSL does (IANA name in standardName); nsqd prints Go's IANA name.
    tls_cipher_suite: socket?.getCipher().standardName ?? '',
    tls_version: version === null ? '' : (GO_TLS_VERSION[version] ?? version),
    tls_negotiated_protocol: socket !== undefined && typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : '',
    tls_negotiated_protocol_is_mutual: socket !== undefined,
  };
}

/**
 * One client's stats. `pub_counts` holds at most one entry, as nsqd v1.3.0's does (its loop stops
 * after the first): the filtered topic's, or without a filter the first topic published to.
 */
export function clientStats(client: ClientConnection, topicFilter?: string) {
  const { settings } = client;
  const pubCounts: Array<{ topic: string; count: number }> = [];
  for (const [topic, count] of client.pubCounts) {
    if (topicFilter !== undefined && topic !== topicFilter) continue;
    pubCounts.push({ topic, count });
    break;
  }
  return {
    client_id: settings.clientId,
    hostname: settings.hostname,
    version: 'V2',
    remote_address: client.remoteAddress,
    state: client.state,
    ready_count: client.readyCount,
    in_flight_count: client.inFlightCount,
    message_count: client.messageCount,
    finish_count: client.finishCount,
    requeue_count: client.requeueCount,
    connect_ts: client.connectTs,
    sample_rate: settings.sampleRate,
    deflate: client.transport.deflate,
    snappy: client.transport.snappy,
    user_agent: settings.userAgent,
    ...authStats(client),
    ...(pubCounts.length > 0 ? { pub_counts: pubCounts } : {}),
    ...tlsStats(client),
  };
}

function channelStats(channel: Channel, query: StatsQuery) {
  const subscribers = channel.subscribers as ClientConnection[];
  return {
    channel_name: channel.name,
    depth: channel.depth,
    backend_depth: channel.backlog.backendDepth,
    in_flight_count: channel.inFlightCount,
    deferred_count: channel.deferredCount,
    message_count: channel.messageCount,
    requeue_count: channel.requeueCount,
    timeout_count: channel.timeoutCount,
    client_count: subscribers.length,
    clients: query.includeClients ? subscribers.map((client) => clientStats(client, query.topic)) : null,
    paused: channel.paused,
    e2e_processing_latency: E2E_EMPTY,
  };
}

function topicStats(topic: Topic, query: StatsQuery) {
  const channels = [...topic.channels.values()]
    .filter((channel) => query.channel === undefined || channel.name === query.channel)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((channel) => channelStats(channel, query));
  return {
    topic_name: topic.name,
    channels,
    depth: topic.depth,
    backend_depth: topic.backlog.backendDepth,
    message_count: topic.messageCount,
    message_bytes: topic.messageBytes,
    paused: topic.paused,
    e2e_processing_latency: E2E_EMPTY,
  };
}

function memoryStats() {
  const usage = process.memoryUsage();
  return {
    heap_objects: 0,
    heap_idle_bytes: Math.max(0, usage.heapTotal - usage.heapUsed),
    heap_in_use_bytes: usage.heapUsed,
    heap_released_bytes: 0,
    gc_pause_usec_100: 0,
    gc_pause_usec_99: 0,
    gc_pause_usec_95: 0,
    next_gc_bytes: 0,
    gc_total_runs: 0,
  };
}

export function buildStats(nsqd: Nsqd, clients: Iterable<ClientConnection>, query: StatsQuery) {
  let topics: ReturnType<typeof topicStats>[] | null;
  if (query.topic !== undefined) {
    const topic = nsqd.getTopic(query.topic);
    topics = topic === undefined ? null : [topicStats(topic, query)];
  } else {
    topics = [...nsqd.topics.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((topic) => topicStats(topic, query));
  }
  // With ?channel=, topics that lack the channel are left out.
  if (topics !== null && query.channel !== undefined) topics = topics.filter((topic) => topic.channels.length > 0);
  // A topic asked for that does not exist: nsqd v1.3.0 (nsqd/stats.go GetStats) returns before it lists producers.
  const producers = query.includeClients && topics !== null
    ? [...clients].filter((client) => client.pubCounts.size > 0).map((client) => clientStats(client, query.topic))
    : [];
  return {
    version: NSQD_VERSION,
    health: nsqd.health,
    start_time: nsqd.startTime,
    topics,
    ...(query.includeMem ? { memory: memoryStats() } : {}),
    producers: producers.length > 0 ? producers : null,
  };
}

export type NsqdStats = ReturnType<typeof buildStats>;
