/**
 * The broker's state: topics and their channels, options, health, and the persistence of both across
 * restarts. Network front ends (TCP, HTTP) call into it; it never touches a socket itself.
 */
import type { BrokerTls } from './tls-context.ts';
import type { Logger } from 'pino';
import { isEphemeralName, isValidChannelName } from '../../protocol/names.ts';
import type { BacklogOptions, DiskHealth } from './backlog.ts';
import type { Channel, ChannelLimits } from './channel.ts';
import { groupCommit } from './group-commit.ts';
import { looksLikeMessage } from './disk-queue-resync.ts';
import { loadMetadata } from './metadata-rebuild.ts';
import { takeDeferred, writeDeferred, writeMetadata, type Metadata } from './metadata.ts';
import { NSQD_VERSION, type BrokerOptions } from './options.ts';
import { Topic, type TopicHost } from './topic.ts';

/** Told about every topic and channel that appears or goes away (lookupd registration listens here). */
export interface TopologyListener {
  topicCreated(topic: string): void;
  topicDeleted(topic: string): void;
  channelCreated(topic: string, channel: string): void;
  channelDeleted(topic: string, channel: string): void;
}

export class Nsqd implements TopicHost, DiskHealth {
  readonly topics = new Map<string, Topic>();
  readonly channelLimits: ChannelLimits;
  /** Wall-clock ms at start: /stats text prints the uptime finer than the second. */
  readonly startedAtMs = Date.now();
  /** Unix seconds, as /info and /stats report it. */
  readonly startTime = Math.floor(this.startedAtMs / 1000);
  readonly nodeId: number;
  /** `OK`, or `NOK - <reason>` after a disk write failed. */
  health = 'OK';
  exiting = false;
  /** The TLS offered to clients: undefined without `--tls-cert`/`--tls-key`. Set by startBroker. */
  tls: BrokerTls | undefined;
  private persisted = false;
  private loading = false;
  private readonly listeners: TopologyListener[] = [];
  /** Undefined, or a function answering undefined when there is nobody to ask. */
  private channelDiscovery: ((topic: string) => Promise<string[]> | undefined) | undefined;
  private readonly lookupdAddressListeners: Array<(addresses: string[]) => void> = [];

  constructor(
    readonly options: BrokerOptions,
    readonly logger: Logger,
  ) {
    this.nodeId = options.nodeId;
    this.channelLimits = { maxReqTimeoutMs: options.maxReqTimeoutMs, maxMsgTimeoutMs: options.maxMsgTimeoutMs };
  }

  addTopologyListener(listener: TopologyListener): void {
    this.listeners.push(listener);
  }

  backlogOptions(queueName: string, ephemeral: boolean): BacklogOptions {
    const { options } = this;
    return {
      memQueueSize: options.memQueueSize,
      health: this,
      disk: ephemeral
        ? undefined
        : {
            name: queueName,
            dataPath: options.dataPath,
            maxBytesPerFile: options.maxBytesPerFile,
            minMsgSize: 26,
            maxMsgSize: options.maxMsgSize + 26,
            syncEvery: options.syncEvery,
            syncTimeoutMs: options.syncTimeoutMs,
            logger: this.logger,
            // --sync-every 1: fsyncs batched per event-loop turn; with --mem-queue-size 0 too, sync
            // mode: reads are saved only once finished, deferred messages journaled.
            groupCommit: options.syncEvery <= 1 ? groupCommit : undefined,
            ackReads: options.syncEvery <= 1 && options.memQueueSize === 0,
            recordCheck: looksLikeMessage,
          },
    };
  }

  getTopic(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  getOrCreateTopic(name: string): Topic {
    let topic = this.topics.get(name);
    if (topic !== undefined) return topic;
    topic = new Topic(name, isEphemeralName(name), this);
    this.topics.set(name, topic);
    if (!this.loading) this.createKnownChannels(topic);
    this.logger.info({ topic: name }, 'TOPIC: created');
    for (const listener of this.listeners) listener.topicCreated(name);
    if (!topic.ephemeral) this.saveMetadata();
    return topic;
  }

  /** Where a new topic learns the channels the cluster already has for it (the lookupds). */
  setChannelDiscovery(discover: (topic: string) => Promise<string[]> | undefined): void {
    this.channelDiscovery = discover;
  }

  /**
   * A new topic first creates the channels lookupd lists for it, holding delivery until then, so no
   * channel of the cluster misses the topic's first messages (nsqd does this with a blocking query).
   */
  private createKnownChannels(topic: Topic): void {
    const known = this.channelDiscovery?.(topic.name);
    if (known === undefined) return;
    const release = topic.hold();
    known
      .then((channels) => {
        if (topic.deleted) return;
        for (const channel of channels) {
          if (isValidChannelName(channel) && !isEphemeralName(channel)) topic.getOrCreateChannel(channel);
        }
      })
      .catch((error: unknown) => this.logger.warn({ topic: topic.name, err: error }, 'could not ask lookupd for the channels of a new topic'))
      .finally(release);
  }

  deleteTopic(name: string): boolean {
    const topic = this.topics.get(name);
    if (topic === undefined) return false;
    this.topics.delete(name);
    topic.delete();
    this.logger.info({ topic: name }, 'TOPIC: deleted');
    for (const listener of this.listeners) listener.topicDeleted(name);
    if (!topic.ephemeral) this.saveMetadata();
    return true;
  }

  channelCreated(topic: Topic, channel: Channel): void {
    this.logger.info({ topic: topic.name, channel: channel.name }, 'CHANNEL: created');
    for (const listener of this.listeners) listener.channelCreated(topic.name, channel.name);
    if (!channel.ephemeral) this.saveMetadata();
  }

  channelDeleted(topic: Topic, channel: Channel): void {
    this.logger.info({ topic: topic.name, channel: channel.name }, 'CHANNEL: deleted');
    for (const listener of this.listeners) listener.channelDeleted(topic.name, channel.name);
    if (!channel.ephemeral) this.saveMetadata();
    // An ephemeral topic goes away with its last channel.
    if (topic.ephemeral && topic.channels.size === 0 && this.topics.get(topic.name) === topic) this.deleteTopic(topic.name);
  }

  /** The last subscriber left an ephemeral channel. */
  releaseEphemeralChannel(topic: Topic, channel: Channel): void {
    if (channel.ephemeral && channel.subscribers.length === 0 && topic.channels.get(channel.name) === channel) {
      topic.deleteChannel(channel.name);
    }
  }

  /** Writes nsqd.dat (non-ephemeral topics and channels, with their paused flags). */
  saveMetadata(): void {
    if (this.loading) return;
    const metadata: Metadata = { topics: [], version: NSQD_VERSION };
    for (const topic of this.topics.values()) {
      if (topic.ephemeral) continue;
      const channels = [...topic.channels.values()]
        .filter((channel) => !channel.ephemeral)
        .map((channel) => ({ name: channel.name, paused: channel.paused }));
      metadata.topics!.push({ name: topic.name, paused: topic.paused, channels });
    }
    try {
      writeMetadata(this.options.dataPath, metadata);
    } catch (error) {
      this.setUnhealthy(error);
    }
  }

  /** Recreates the topics and channels of the last run, with their paused flags and deferred messages. */
  load(): void {
    const metadata = loadMetadata(this.options.dataPath, this.logger);
    // nsqd rewrites nsqd.dat at every startup, a fresh data path included.
    if (metadata === undefined) return this.saveMetadata();
    this.loading = true;
    try {
      for (const saved of metadata.topics ?? []) {
        const topic = this.getOrCreateTopic(saved.name);
        if (saved.paused) topic.pause();
        for (const savedChannel of saved.channels ?? []) {
          const channel = topic.getOrCreateChannel(savedChannel.name);
          if (savedChannel.paused) channel.pause();
          for (const { message, dueAtMs } of takeDeferred(this.options.dataPath, `${topic.name}:${channel.name}`)) {
            channel.restoreDeferred(message, dueAtMs);
          }
        }
      }
    } finally {
      this.loading = false;
    }
    this.saveMetadata();
  }

  /**
   * Clean shutdown: every message in memory, in flight and deferred reaches disk, then the metadata.
   * Synchronous, so a process about to exit at once can still call it; a second call does nothing.
   */
  persistAndClose(): void {
    if (this.persisted) return;
    this.persisted = true;
    this.exiting = true;
    this.saveMetadata();
    for (const topic of this.topics.values()) {
      const deferredByChannel = topic.closeForShutdown();
      if (topic.ephemeral) continue;
      for (const [channel, deferred] of deferredByChannel) {
        if (channel.ephemeral) continue;
        writeDeferred(this.options.dataPath, `${topic.name}:${channel.name}`, deferred);
      }
    }
  }

  /** `PUT /config/nsqlookupd_tcp_addresses`: the registration layer reconnects to the new list. */
  setLookupdTcpAddresses(addresses: string[]): void {
    this.options.lookupdTcpAddresses = addresses;
    for (const listener of this.lookupdAddressListeners) listener(addresses);
  }

  onLookupdAddressesChanged(listener: (addresses: string[]) => void): void {
    this.lookupdAddressListeners.push(listener);
  }

  /** nsqd sets its health after every backend write: NOK on a failure, OK again on the next success. */
  get healthy(): boolean {
    return this.health === 'OK';
  }

  diskWriteFailed(error: unknown): void {
    this.setUnhealthy(error);
  }

  diskWriteSucceeded(): void {
    this.health = 'OK';
  }

  setUnhealthy(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.health = `NOK - ${reason}`;
    this.logger.error({ err: error }, 'broker unhealthy');
  }
}
