/**
 * The text form of `/stats` (any `format` but `json`), line for line as nsqd v1.3.0's printStats
 * writes it, for people at a terminal and for scripts that grep it: the memory block when asked for,
 * `Topics: None` or the topics, each client as nsqd's ClientV2Stats.String(), then the producers.
 */
import { formatDurationMs } from '../../protocol/duration.ts';
import { NSQD_VERSION } from './options.ts';
import type { NsqdStats } from './stats.ts';

type ClientEntry = NonNullable<NsqdStats['producers']>[number];

/** Go's `%-Nd` / `%-Ns`: left-aligned in a field at least `width` wide. */
const left = (value: string | number, width: number): string => String(value).padEnd(width);

/** Seconds since `connectTs`, truncated to the second and printed as a Go duration (`1m5s`). */
function connectedFor(connectTs: number, nowMs: number): string {
  return formatDurationMs(Math.max(0, Math.floor(nowMs / 1000) - connectTs) * 1000);
}

/** nsqd's ClientV2Stats.String(): a producer (it has pub counts) or a consumer line. */
function clientLine(client: ClientEntry, nowMs: number): string {
  const port = client.remote_address.slice(client.remote_address.lastIndexOf(':') + 1);
  const id = `${client.hostname}:${port} ${client.user_agent}`;
  const connected = connectedFor(client.connect_ts, nowMs);
  if (client.pub_counts !== undefined && client.pub_counts.length > 0) {
    const total = client.pub_counts.reduce((sum, entry) => sum + entry.count, 0);
    const topics = client.pub_counts.map((entry) => `${entry.topic}=${entry.count}`).join(',');
    return `[${client.version} ${left(id, 21)}] msgs: ${left(total, 8)} topics: ${topics} connected: ${connected}`;
  }
  return (
    `[${client.version} ${left(id, 21)}] state: ${client.state} inflt: ${left(client.in_flight_count, 4)} ` +
    `rdy: ${left(client.ready_count, 4)} fin: ${left(client.finish_count, 8)} re-q: ${left(client.requeue_count, 8)} ` +
    `msgs: ${left(client.message_count, 8)} connected: ${connected}`
  );
}

/** RFC 3339 to the second, as Go's time.RFC3339 prints it (UTC here). */
function rfc3339(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatStatsText(stats: NsqdStats, uptimeMs: number, nowMs = Date.now()): string {
  let out = `nsqd v${NSQD_VERSION} (built w/node ${process.version})\n`;
  out += `start_time ${rfc3339(stats.start_time)}\n`;
  out += `uptime ${formatDurationMs(Math.max(0, Math.round(uptimeMs)))}\n`;
  out += `\nHealth: ${stats.health}\n`;
  if (stats.memory !== undefined) {
    out += '\nMemory:\n';
    for (const [key, value] of Object.entries(stats.memory)) out += `   ${left(key, 25)}\t${value}\n`;
  }
  const topics = stats.topics ?? [];
  out += topics.length === 0 ? '\nTopics: None\n' : '\nTopics:';
  // The e2e percentiles print nothing: no --e2e-processing-latency-percentile is configured.
  for (const topic of topics) {
    out +=
      `\n${topic.paused ? '*P ' : '   '}[${left(topic.topic_name, 15)}] depth: ${left(topic.depth, 5)} ` +
      `be-depth: ${left(topic.backend_depth, 5)} msgs: ${left(topic.message_count, 8)} e2e%: \n`;
    for (const channel of topic.channels) {
      out +=
        `${channel.paused ? '   *P ' : '      '}[${left(channel.channel_name, 25)}] depth: ${left(channel.depth, 5)} ` +
        `be-depth: ${left(channel.backend_depth, 5)} inflt: ${left(channel.in_flight_count, 4)} def: ${left(channel.deferred_count, 4)} ` +
        `re-q: ${left(channel.requeue_count, 5)} timeout: ${left(channel.timeout_count, 5)} msgs: ${left(channel.message_count, 8)} e2e%: \n`;
      for (const client of channel.clients ?? []) out += `        ${clientLine(client, nowMs)}\n`;
    }
  }
  const producers = stats.producers ?? [];
  if (producers.length === 0) out += '\nProducers: None\n';
  else {
    out += '\nProducers:\n';
    for (const producer of producers) out += `   ${clientLine(producer, nowMs)}\n`;
  }
  return out;
}
