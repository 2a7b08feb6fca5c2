/**
 * `/stats`: the broker's counters in nsqd's JSON shape (field names and order as nsqd writes them,
 * which nsqadmin and nsq_stat read), and the human-readable text form.
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

export function clientStats(client: ClientConnection) {
  const { settings } = client;
  const pubCounts = [...client.pubCounts].map(([topic, count]) => ({ topic, count }));
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
    topology_zone: settings.topologyZone,
    topology_region: settings.topologyRegion,
    ...(pubCounts.length > 0 ? { pub_counts: pubCounts } : {}),
    tls: false,
    tls_cipher_suite: '',
    tls_version: '',
    tls_negotiated_protocol: '',
    tls_negotiated_protocol_is_mutual: false,
  };
}

function channelStats(channel: Channel, includeClients: boolean) {
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
    clients: includeClients ? subscribers.map(clientStats) : null,
    paused: channel.paused,
    e2e_processing_latency: E2E_EMPTY,
  };
}

function topicStats(topic: Topic, query: StatsQuery) {
  const channels = [...topic.channels.values()]
    .filter((channel) => query.channel === undefined || channel.name === query.channel)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((channel) => channelStats(channel, query.includeClients));
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
  const producers = query.includeClients ? [...clients].filter((client) => client.pubCounts.size > 0).map(clientStats) : [];
  return {
    version: NSQD_VERSION,
    health: nsqd.health,
    start_time: nsqd.startTime,
    topics,
    ...(query.includeMem ? { memory: memoryStats() } : {}),
    producers: producers.length > 0 ? producers : null,
  };
}

function formatUptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** The text form of /stats, for people at a terminal. */
export function formatStatsText(stats: ReturnType<typeof buildStats>): string {
  const lines: string[] = [];
  lines.push(`nsqd v${NSQD_VERSION} (built w/node ${process.version})`);
  lines.push(`start_time ${new Date(stats.start_time * 1000).toISOString()}`);
  lines.push(`uptime ${formatUptime(Math.floor(Date.now() / 1000) - stats.start_time)}`);
  lines.push('');
  lines.push(`Health: ${stats.health}`);
  lines.push('');
  if (stats.topics === null || stats.topics.length === 0) {
    lines.push('NO_TOPICS');
  } else {
    lines.push('Topics:');
    for (const topic of stats.topics) {
      const paused = topic.paused ? '*P ' : '   ';
      lines.push(
        `${paused}[${topic.topic_name.padEnd(15)}] depth: ${String(topic.depth).padEnd(5)} be-depth: ${String(topic.backend_depth).padEnd(5)} msgs: ${String(topic.message_count).padEnd(8)} e2e%: `,
      );
      for (const channel of topic.channels) {
        const channelPaused = channel.paused ? '   *P ' : '      ';
        lines.push(
          `${channelPaused}[${channel.channel_name.padEnd(25)}] depth: ${String(channel.depth).padEnd(5)} be-depth: ${String(channel.backend_depth).padEnd(5)} inflt: ${String(channel.in_flight_count).padEnd(4)} def: ${String(channel.deferred_count).padEnd(4)} re-q: ${String(channel.requeue_count).padEnd(5)} timeout: ${String(channel.timeout_count).padEnd(5)} msgs: ${String(channel.message_count).padEnd(8)} e2e%: `,
        );
        for (const client of channel.clients ?? []) {
          lines.push(
            `        [V2 ${client.client_id.padEnd(18)}] state: ${client.state} inflt: ${String(client.in_flight_count).padEnd(4)} rdy: ${String(client.ready_count).padEnd(4)} fin: ${String(client.finish_count).padEnd(8)} re-q: ${String(client.requeue_count).padEnd(8)} msgs: ${String(client.message_count).padEnd(8)} connected: ${formatUptime(Math.floor(Date.now() / 1000) - client.connect_ts)}`,
          );
        }
      }
    }
  }
  if (stats.producers !== null) {
    lines.push('');
    lines.push('Producers:');
    for (const producer of stats.producers) {
      lines.push(`   [V2 ${producer.client_id.padEnd(18)}] msgs: ${producer.pub_counts?.reduce((sum, p) => sum + p.count, 0) ?? 0} connected: ${formatUptime(Math.floor(Date.now() / 1000) - producer.connect_ts)}`);
    }
  } else {
    lines.push('');
    lines.push('Producers: None');
  }
  return `${lines.join('\n')}\n`;
}
