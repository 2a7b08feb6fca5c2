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
    deflate: false,
    snappy: false,
    user_agent: settings.userAgent,
    ...(pubCounts.length > 0 ? { pub_counts: pubCounts } : {}),
    tls: false,
    tls_cipher_suite: '',
    tls_version: '',
    tls_negotiated_protocol: '',
    tls_negotiated_protocol_is_mutual: false,
  };
}

function channelStats(channel: Channel, query: StatsQuery) {
  const subscribers = channel.subscribers as ClientConnection[];
  return {
    channel_name: channel.name,
    depth: channel.depth,
    backend_depth: channel.backlog.backendDepth,
    in_flight_count: channel.inFlight.size,
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
  const producers = query.includeClients
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
