/**
 * What the console knows of the cluster: each node's last good `/stats`, its rates, and whether it
 * answered the last poll. Views for the API are computed from it; the overview once per poll, so a
 * hundred open pages cost one computation.
 */
import type { ChannelDetail, ClientView, NodeView, Overview, TopicDetail, TopicRow } from '../api-types.ts';
import { seriesKey } from '../api-types.ts';
import { addChannel, addRate, addTopic, emptyChannelCounts, emptyCounts, type NodeRates } from './aggregate.ts';
import type { NsqStats } from './nsq-types.ts';
import { RateTracker } from './rates.ts';
import { SeriesStore } from './series.ts';

export interface NodeState {
  address: string;
  /** Its TCP address, for the dead-letter reader; known from lookupd or /info. */
  tcpAddress: string | undefined;
  source: NodeView['source'];
  hostname: string;
  version: string;
  up: boolean;
  error: string | null;
  lastGoodAt: number | null;
  stats: NsqStats | undefined;
  /** Rates at the last poll, by `t|<topic>` and `c|<topic>/<channel>`; empty while down. */
  rates: Map<string, NodeRates>;
  tombstones: string[];
}

/** One node's answer (or failure) in a poll round. */
export interface NodeResult {
  address: string;
  source: NodeView['source'];
  hostname: string | undefined;
  tcpAddress: string | undefined;
  tombstones: string[];
  outcome: { stats: NsqStats } | { error: string };
}

export interface LookupdState {
  address: string;
  up: boolean;
  error: string | null;
}

export class ClusterModel {
  readonly nodes = new Map<string, NodeState>();
  lookupds: LookupdState[] = [];
  /** Topics some lookupd lists, whether or not an nsqd has them. */
  private lookupdTopics: ReadonlySet<string> = new Set();
  tick = 0;
  polledAt = 0;
  readonly series: SeriesStore;
  private readonly rates = new RateTracker();
  private topicRows: TopicRow[] = [];
  private totals: Overview['totals'] = { depth: 0, messageRate: null, inFlight: 0 };

  constructor(readonly intervalMs: number) {
    this.series = new SeriesStore({ fineStepMs: intervalMs });
  }

  /** Takes one poll round: every node the round knew of, answered or not. */
  applyRound(atMs: number, results: readonly NodeResult[], lookupds: LookupdState[], lookupdTopics: ReadonlySet<string> = new Set()): void {
    this.lookupds = lookupds;
    this.lookupdTopics = lookupdTopics;
    const seen = new Set<string>();
    for (const result of results) {
      seen.add(result.address);
      const node = this.nodes.get(result.address) ?? this.newNode(result);
      node.source = result.source;
      node.tombstones = result.tombstones;
      if (result.hostname !== undefined) node.hostname = result.hostname;
      if (result.tcpAddress !== undefined) node.tcpAddress = result.tcpAddress;
      if ('stats' in result.outcome) {
        node.up = true;
        node.error = null;
        node.lastGoodAt = atMs;
        node.stats = result.outcome.stats;
        node.version = result.outcome.stats.version;
        node.rates = this.nodeRates(node.address, result.outcome.stats, atMs);
      } else {
        node.up = false;
        node.error = result.outcome.error;
        node.rates = new Map();
      }
      this.nodes.set(node.address, node);
    }
    for (const address of this.nodes.keys()) if (!seen.has(address)) this.nodes.delete(address);
    this.rates.endRound();
    this.tick += 1;
    this.polledAt = atMs;
    this.topicRows = this.computeTopicRows();
    this.series.record(atMs, this.samples());
  }

  overview(view: { readOnly: boolean; canAct: boolean; user: string | null }): Overview {
    return {
      tick: this.tick,
      polledAt: this.polledAt,
      intervalMs: this.intervalMs,
      ...view,
      lookupds: this.lookupds,
      nodes: [...this.nodes.values()].map(nodeView).sort((a, b) => a.address.localeCompare(b.address)),
      topics: this.topicRows,
      totals: this.totals,
    };
  }

  topic(name: string): TopicDetail | undefined {
    const counts = emptyCounts();
    const perNode: TopicDetail['nodes'] = [];
    const channels = new Map<string, { counts: ReturnType<typeof emptyChannelCounts>; stale: boolean }>();
    for (const node of this.nodes.values()) {
      const topic = node.stats?.topics.find((t) => t.topic_name === name);
      if (topic === undefined) continue;
      const rates = node.rates.get(`t|${name}`);
      addTopic(counts, topic, rates);
      const own = emptyCounts();
      addTopic(own, topic, rates);
      perNode.push({ node: node.address, up: node.up, counts: own });
      for (const channel of topic.channels) {
        const entry = channels.get(channel.channel_name) ?? { counts: emptyChannelCounts(), stale: false };
        addChannel(entry.counts, channel, node.rates.get(`c|${name}/${channel.channel_name}`));
        entry.stale ||= !node.up;
        channels.set(channel.channel_name, entry);
      }
    }
    // A topic only a lookupd lists (created there, on no nsqd yet) is shown, empty.
    if (perNode.length === 0 && !this.lookupdTopics.has(name)) return undefined;
    const rows = [...channels].map(([channel, entry]) => ({ name: channel, ...entry.counts, stale: entry.stale }));
    rows.sort((a, b) => a.name.localeCompare(b.name));
    return { tick: this.tick, name, counts, nodes: perNode, channels: rows };
  }

  channel(topicName: string, name: string): ChannelDetail | undefined {
    const counts = emptyChannelCounts();
    const perNode: ChannelDetail['nodes'] = [];
    const clients: ClientView[] = [];
    for (const node of this.nodes.values()) {
      const channel = node.stats?.topics.find((t) => t.topic_name === topicName)?.channels.find((c) => c.channel_name === name);
      if (channel === undefined) continue;
      const rates = node.rates.get(`c|${topicName}/${name}`);
      addChannel(counts, channel, rates);
      const own = emptyChannelCounts();
      addChannel(own, channel, rates);
      perNode.push({ node: node.address, up: node.up, counts: own });
      for (const client of channel.clients ?? []) {
        clients.push({
          node: node.address,
          clientId: client.client_id,
          hostname: client.hostname,
          remoteAddress: client.remote_address,
          userAgent: client.user_agent,
          state: client.state,
          ready: client.ready_count,
          inFlight: client.in_flight_count,
          messageCount: client.message_count,
          finishCount: client.finish_count,
          requeueCount: client.requeue_count,
          connectedAt: client.connect_ts,
          tls: client.tls,
          snappy: client.snappy,
          deflate: client.deflate,
          authed: client.authed ?? false,
        });
      }
    }
    if (perNode.length === 0) return undefined;
    return { tick: this.tick, topic: topicName, name, counts, nodes: perNode, clients };
  }

  /** Nodes that have the topic (for actions), as last seen. */
  nodesWithTopic(topic: string): string[] {
    return [...this.nodes.values()].filter((node) => node.stats?.topics.some((t) => t.topic_name === topic)).map((node) => node.address);
  }

  private newNode(result: NodeResult): NodeState {
    return { address: result.address, tcpAddress: result.tcpAddress, source: result.source, hostname: result.hostname ?? '', version: '', up: false, error: null, lastGoodAt: null, stats: undefined, rates: new Map(), tombstones: [] };
  }

  private nodeRates(address: string, stats: NsqStats, atMs: number): Map<string, NodeRates> {
    const out = new Map<string, NodeRates>();
    const rate = (key: string, value: number) => this.rates.update(`${address}|${key}`, value, atMs);
    for (const topic of stats.topics) {
      out.set(`t|${topic.topic_name}`, { message: rate(`t|${topic.topic_name}`, topic.message_count) });
      for (const channel of topic.channels) {
        const key = `c|${topic.topic_name}/${channel.channel_name}`;
        out.set(key, { message: rate(`${key}|m`, channel.message_count), requeue: rate(`${key}|r`, channel.requeue_count), timeout: rate(`${key}|t`, channel.timeout_count) });
      }
    }
    return out;
  }

  private computeTopicRows(): TopicRow[] {
    const rows = new Map<string, TopicRow & { nodes: Set<string>; channels: Set<string> }>();
    let inFlight = 0;
    for (const node of this.nodes.values()) {
      for (const topic of node.stats?.topics ?? []) {
        let row = rows.get(topic.topic_name);
        if (row === undefined) {
          row = { name: topic.topic_name, ...emptyCounts(), channelCount: 0, channelDepth: 0, nodeCount: 0, stale: false, nodes: new Set(), channels: new Set() };
          rows.set(topic.topic_name, row);
        }
        addTopic(row, topic, node.rates.get(`t|${topic.topic_name}`));
        row.nodes.add(node.address);
        row.stale ||= !node.up;
        for (const channel of topic.channels) {
          row.channels.add(channel.channel_name);
          row.channelDepth += channel.depth;
          inFlight += channel.in_flight_count;
        }
      }
    }
    let depth = 0;
    let messageRate: number | null = null;
    const out: TopicRow[] = [];
    for (const { nodes, channels, ...row } of rows.values()) {
      row.nodeCount = nodes.size;
      row.channelCount = channels.size;
      depth += row.depth + row.channelDepth;
      messageRate = addRate(messageRate, row.messageRate ?? undefined);
      out.push(row);
    }
    for (const name of this.lookupdTopics) {
      if (!rows.has(name)) out.push({ name, ...emptyCounts(), channelCount: 0, channelDepth: 0, nodeCount: 0, stale: false });
    }
    this.totals = { depth, messageRate, inFlight };
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** This round's chart points: totals, every topic, every channel (summed over nodes). */
  private samples(): Map<string, number> {
    const samples = new Map<string, number>();
    samples.set(seriesKey.total('depth'), this.totals.depth);
    if (this.totals.messageRate !== null) samples.set(seriesKey.total('rate'), this.totals.messageRate);
    for (const row of this.topicRows) {
      samples.set(seriesKey.topic(row.name, 'depth'), row.depth);
      samples.set(seriesKey.topic(row.name, 'channel-depth'), row.channelDepth);
      if (row.messageRate !== null) samples.set(seriesKey.topic(row.name, 'rate'), row.messageRate);
    }
    const add = (key: string, value: number) => samples.set(key, (samples.get(key) ?? 0) + value);
    for (const node of this.nodes.values()) {
      for (const topic of node.stats?.topics ?? []) {
        for (const channel of topic.channels) {
          add(seriesKey.channel(topic.topic_name, channel.channel_name, 'depth'), channel.depth);
          add(seriesKey.channel(topic.topic_name, channel.channel_name, 'inflight'), channel.in_flight_count);
          const rate = node.rates.get(`c|${topic.topic_name}/${channel.channel_name}`)?.message;
          if (rate !== undefined) add(seriesKey.channel(topic.topic_name, channel.channel_name, 'rate'), rate);
        }
      }
    }
    return samples;
  }
}

function nodeView(node: NodeState): NodeView {
  let channelCount = 0;
  let clientCount = 0;
  let depth = 0;
  let messageRate: number | null = null;
  for (const topic of node.stats?.topics ?? []) {
    depth += topic.depth;
    messageRate = addRate(messageRate, node.rates.get(`t|${topic.topic_name}`)?.message);
    for (const channel of topic.channels) {
      channelCount += 1;
      clientCount += channel.client_count;
      depth += channel.depth;
    }
  }
  return {
    address: node.address,
    hostname: node.hostname,
    version: node.version,
    up: node.up,
    error: node.error,
    lastGoodAt: node.lastGoodAt,
    health: node.stats?.health ?? '',
    startTime: node.stats?.start_time ?? 0,
    topicCount: node.stats?.topics.length ?? 0,
    channelCount,
    clientCount,
    depth,
    messageRate,
    tombstones: node.tombstones,
    source: node.source,
  };
}
