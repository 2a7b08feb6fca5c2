/**
 * `GET /metrics`: the broker's figures in the Prometheus text format, which nsqd lacks (its users run
 * a separate exporter). Loaded by the HTTP API on the first scrape, so an unscraped broker never
 * loads prom-client. Every value is read from the broker's state at scrape time: publishing and
 * delivery pay nothing for metrics. Each broker has a registry of its own (never prom-client's
 * global one), so two brokers in one process never share series.
 *
 * prom-client (CommonJS) is required when the first broker's metrics are made, not imported: the
 * bundle `nsqworker broker` runs from (dist/servers.js) then leaves it out, in node_modules.
 */
const requireHere = createRequire(import.meta.url);
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { ClientConnection } from './client-connection.ts';
import type { Nsqd } from './nsqd.ts';

export interface BrokerMetrics {
  readonly contentType: string;
  render(): Promise<string>;
}

type TopicLabel = 'topic';
type ChannelLabel = 'topic' | 'channel';

export function createBrokerMetrics(nsqd: Nsqd, clients: () => Iterable<ClientConnection>): BrokerMetrics {
  const { collectDefaultMetrics, Counter, Gauge, Registry } = requireHere('prom-client') as typeof PromClient;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const topicGauge = (name: string, help: string, read: (topic: NonNullable<ReturnType<Nsqd['getTopic']>>) => number) =>
    new Gauge<TopicLabel>({
      name, help, labelNames: ['topic'], registers: [registry],
      collect() {
        this.reset();
        for (const topic of nsqd.topics.values()) this.set({ topic: topic.name }, read(topic));
      },
    });
  type ChannelOf = NonNullable<ReturnType<NonNullable<ReturnType<Nsqd['getTopic']>>['getChannel']>>;
  const eachChannel = (visit: (labels: Record<ChannelLabel, string>, channel: ChannelOf) => void) => {
    for (const topic of nsqd.topics.values()) for (const channel of topic.channels.values()) visit({ topic: topic.name, channel: channel.name }, channel);
  };
  const channelGauge = (name: string, help: string, read: (channel: ChannelOf) => number) =>
    new Gauge<ChannelLabel>({
      name, help, labelNames: ['topic', 'channel'], registers: [registry],
      collect() {
        this.reset();
        eachChannel((labels, channel) => this.set(labels, read(channel)));
      },
    });
  // nsqd's counts only grow while a channel lives; a counter re-read at each scrape keeps their type.
  const channelCounter = (name: string, help: string, read: (channel: ChannelOf) => number) =>
    new Counter<ChannelLabel>({
      name, help, labelNames: ['topic', 'channel'], registers: [registry],
      collect() {
        this.reset();
        eachChannel((labels, channel) => this.inc(labels, read(channel)));
      },
    });

  topicGauge('nsq_topic_depth', 'Messages waiting in the topic (memory and disk) for a channel', (t) => t.depth);
  topicGauge('nsq_topic_backend_depth', 'Messages of the topic waiting on disk', (t) => t.backlog.backendDepth);
  topicGauge('nsq_topic_paused', '1 when the topic is paused', (t) => (t.paused ? 1 : 0));
  topicGauge('nsq_topic_channels', 'Channels of the topic', (t) => t.channels.size);
  new Counter<TopicLabel>({
    name: 'nsq_topic_messages_total', help: 'Messages published to the topic', labelNames: ['topic'], registers: [registry],
    collect() {
      this.reset();
      for (const topic of nsqd.topics.values()) this.inc({ topic: topic.name }, topic.messageCount);
    },
  });
  channelGauge('nsq_channel_depth', 'Messages waiting in the channel (memory and disk), not counting in flight or deferred', (c) => c.depth);
  channelGauge('nsq_channel_backend_depth', 'Messages of the channel waiting on disk', (c) => c.backlog.backendDepth);
  channelGauge('nsq_channel_in_flight', 'Messages sent to a consumer and not yet finished', (c) => c.inFlightCount);
  channelGauge('nsq_channel_deferred', 'Messages deferred (DPUB or REQ with a delay)', (c) => c.deferredCount);
  channelGauge('nsq_channel_clients', 'Consumers subscribed to the channel', (c) => c.subscribers.length);
  channelGauge('nsq_channel_paused', '1 when the channel is paused', (c) => (c.paused ? 1 : 0));
  channelCounter('nsq_channel_messages_total', 'Messages put into the channel', (c) => c.messageCount);
  channelCounter('nsq_channel_requeued_total', 'Messages requeued by a consumer', (c) => c.requeueCount);
  channelCounter('nsq_channel_timed_out_total', 'Messages whose in-flight timeout expired, or whose consumer left with them in flight', (c) => c.timeoutCount);
  new Gauge({
    name: 'nsq_clients', help: 'TCP clients connected to the broker', registers: [registry],
    collect() {
      let count = 0;
      for (const _ of clients()) count += 1;
      this.set(count);
    },
  });
  new Gauge({
    name: 'nsq_healthy', help: '1 while the broker is healthy (/ping answers OK)', registers: [registry],
    collect() {
      this.set(nsqd.health === 'OK' ? 1 : 0);
    },
  });

  return { contentType: registry.contentType, render: () => registry.metrics() };
}
