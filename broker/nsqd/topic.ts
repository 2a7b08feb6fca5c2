/**
 * A topic copies every published message to each of its channels. With no channel, or while paused,
 * messages wait in the topic's own backlog and flow on when a channel appears or it is unpaused;
 * that flow is done in batches per tick so a deep backlog never blocks the event loop.
 */
import { MESSAGE_ATTEMPTS_OFFSET, MESSAGE_HEADER_SIZE, MESSAGE_ID_OFFSET, nowNs, writeTimestamp } from '../../protocol/message.ts';
import { deadlineNow } from './deadline-clock.ts';
import { Backlog, type BacklogOptions } from './backlog.ts';
import { Channel, type ChannelLimits } from './channel.ts';
import { BrokerMessage } from './message.ts';
import { MessageIdGenerator } from './message-id.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/**
 * A publish to a topic deleted after the publisher looked it up (HTTP /mpub reads its body after):
 * nsqd's Topic.PutMessage(s) refuse with "exiting" (nsqd/topic.go), which it answers `E_PUB_FAILED
 * PUB failed exiting` over TCP (E_MPUB_FAILED, E_DPUB_FAILED for MPUB and DPUB) and 503 EXITING
 * over HTTP.
 */
export class TopicExitingError extends CodedError<'E_TOPIC_EXITING'> {
  override readonly name = 'TopicExitingError';
  constructor(readonly topic: string) {
    super('E_TOPIC_EXITING', 'exiting');
  }
}

/** What a topic needs from the broker around it. */
export interface TopicHost {
  backlogOptions(queueName: string, ephemeral: boolean): BacklogOptions;
  readonly channelLimits: ChannelLimits;
  readonly nodeId: number;
  /** A non-ephemeral channel was created or deleted: metadata and lookupd registrations follow. */
  channelCreated(topic: Topic, channel: Channel): void;
  channelDeleted(topic: Topic, channel: Channel): void;
}

/** Messages moved from a topic's backlog to its channels per tick. */
const DRAIN_BATCH = 2048;

export class Topic {
  readonly channels = new Map<string, Channel>();
  readonly backlog: Backlog;
  readonly ids: MessageIdGenerator;
  paused = false;
  deleted = false;
  private holds = 0;
  messageCount = 0;
  messageBytes = 0;
  private draining: NodeJS.Immediate | undefined;
  private readonly drainBatch = (): void => this.drain();
  /** Where publishAll makes each record's message header (see publishAll). */
  private readonly recordHeader = Buffer.allocUnsafe(MESSAGE_HEADER_SIZE);

  constructor(
    readonly name: string,
    readonly ephemeral: boolean,
    private readonly host: TopicHost,
  ) {
    this.backlog = new Backlog(host.backlogOptions(name, ephemeral));
    this.ids = new MessageIdGenerator(host.nodeId);
  }

  get depth(): number {
    return this.backlog.depth;
  }

  /**
   * A published body becomes a message with a fresh id and timestamp: deferred by `deferMs` (DPUB,
   * `/pub?defer=`, ms), or put now. Throws {@link TopicExitingError} when the topic was deleted, and
   * the disk error when a write the publish depends on fails, so the publisher can be told.
   */
  publish(body: Buffer, deferMs = 0): void {
    this.checkNotDeleted();
    const ids = this.ids;
    ids.advance();
    const message = new BrokerMessage(ids.high, ids.low, undefined, nowNs(), body);
    if (deferMs > 0) this.putDeferred(message, deferMs);
    else this.put(message);
  }

  /**
   * The messages of one MPUB (or HTTP /mpub), `frame[ranges[2i], ranges[2i + 1])` (byte offsets),
   * published in order: the clock is read once for the batch, so its messages share a timestamp.
   * Throws {@link TopicExitingError} when the topic was deleted; with no channel (or paused), at the
   * first write to the topic's disk queue that fails, the messages before it staying published, as
   * in nsqd.
   *
   * A message that would wait at a channel (see Channel.queuesNext) is handed to it as its record,
   * made once for all channels and copied into the channel's memory queue or disk queue
   * (Backlog.putRecord): no message object or id string is made for a message that only waits, and
   * the frame is not kept alive by it (a large body, or one several channels take, waits in memory
   * as an object over the frame: MemoryQueue.pushRecord). One a subscriber is ready for is made
   * into an object and delivered. Sync mode keeps the object path, which refuses a publish whose
   * write failed.
   */
  publishAll(frame: Buffer, ranges: readonly number[]): void {
    this.checkNotDeleted();
    const nowMs = Date.now();
    const timestampNs = nowNs();
    const channels = [...this.channels.values()];
    const ids = this.ids;
    if (!this.canDispatch() || !channels.every((channel) => channel.backlog.takesRecords)) {
      for (let i = 0; i < ranges.length; i += 2) {
        ids.advance(nowMs);
        this.put(new BrokerMessage(ids.high, ids.low, undefined, timestampNs, frame, 0, ranges[i]!, ranges[i + 1]!));
      }
      return;
    }
    const header = this.recordHeader;
    writeTimestamp(header, 0, timestampNs);
    header.writeUInt16BE(0, MESSAGE_ATTEMPTS_OFFSET);
    for (let i = 0; i < ranges.length; i += 2) {
      const start = ranges[i]!;
      const end = ranges[i + 1]!;
      ids.writeNext(header, MESSAGE_ID_OFFSET, nowMs);
      for (let c = 0; c < channels.length; c++) {
        const channel = channels[c]!;
        if (channel.queuesNext()) channel.putRecord(header, frame, start, end, channels.length);
        // Each channel its own object: putting one may deliver it, which changes its delivery state.
        else channel.put(new BrokerMessage(ids.high, ids.low, undefined, timestampNs, frame, 0, start, end));
      }
      this.messageCount++;
      this.messageBytes += end - start;
    }
    // Records are queued without a pump; one per channel after the batch delivers what a ready subscriber can take.
    for (let c = 0; c < channels.length; c++) channels[c]!.pump();
  }

  /** A publish to a deleted topic would go nowhere: see {@link TopicExitingError}. */
  private checkNotDeleted(): void {
    if (this.deleted) throw new TopicExitingError(this.name);
  }

  /** Accepts a published message. */
  put(message: BrokerMessage): void {
    if (this.canDispatch()) {
      const failure = this.dispatch(message, true);
      // Sync mode: a copy held in memory only is not the durable store the publisher is promised.
      if (failure !== undefined && this.backlog.durable) throw failure;
    } else {
      // Throws when the disk write fails: the publisher is told, and the message is not counted.
      this.backlog.putOrThrow(message);
      if (this.flowing && this.channels.size > 0) this.scheduleDrain();
    }
    this.messageCount++;
    this.messageBytes += message.bodyLength;
  }

  /** Accepts a deferred publish. Waiting at the topic it keeps its delay only while in memory, as in nsqd. */
  putDeferred(message: BrokerMessage, delayMs: number): void {
    this.messageCount++;
    this.messageBytes += message.bodyLength;
    if (!this.canDispatch()) {
      // The delay waits with the message (it used to be dropped, delivering a DPUB at once to the first SUB).
      message.deferMs = delayMs;
      this.backlog.putOrThrow(message);
      if (this.flowing && this.channels.size > 0) this.scheduleDrain();
      return;
    }
    this.dispatchDeferred(message, delayMs, true);
  }

  /** `strict`: a publish, refused (thrown) when sync mode cannot journal it. */
  private dispatchDeferred(message: BrokerMessage, delayMs: number, strict: boolean): void {
    message.deferMs = 0;
    // Before the copies are made, so that they share the body it may take (see Channel's defer).
    message.ownBody();
    const dueAtMs = deadlineNow() + delayMs;
    let remaining = this.channels.size;
    for (const channel of this.channels.values()) channel.putDeferred(--remaining === 0 ? message : message.copy(), dueAtMs, strict);
  }

  getChannel(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  /** Gets or creates a channel; a topic's waiting messages start flowing to its first channel. */
  getOrCreateChannel(name: string): Channel {
    let channel = this.channels.get(name);
    if (channel !== undefined) return channel;
    const ephemeral = name.endsWith('#ephemeral');
    channel = new Channel(
      this.name,
      name,
      ephemeral,
      this.host.backlogOptions(`${this.name}:${name}`, ephemeral),
      this.host.channelLimits,
    );
    this.channels.set(name, channel);
    this.host.channelCreated(this, channel);
    this.scheduleDrain();
    return channel;
  }

  deleteChannel(name: string): boolean {
    const channel = this.channels.get(name);
    if (channel === undefined) return false;
    this.channels.delete(name);
    channel.delete();
    this.host.channelDeleted(this, channel);
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  unpause(): void {
    this.paused = false;
    this.scheduleDrain();
  }

  /**
   * Holds delivery while the channels the cluster already knows for this topic are being created,
   * as nsqd does for a new topic when it knows lookupds: otherwise the first channel to appear would
   * take messages the others should get copies of. Returns the release function (idempotent).
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.scheduleDrain();
    };
  }

  /** Neither paused by an operator nor held. */
  private get flowing(): boolean {
    return !this.paused && this.holds === 0;
  }

  private canDispatch(): boolean {
    return this.flowing && this.channels.size > 0 && this.backlog.depth === 0;
  }

  /**
   * One copy per channel; the last channel takes the original object. Each copy is made before the
   * message it copies is handed on, because putting a message may deliver it at once, which changes
   * its attempts and delivery state. Returns the disk error when a channel holds it in memory only.
   */
  private dispatch(message: BrokerMessage, strict: boolean): unknown {
    if (message.deferMs > 0) return this.dispatchDeferred(message, message.deferMs, strict);
    let failure: unknown;
    let remaining = this.channels.size;
    for (const channel of this.channels.values()) {
      if (!channel.put(--remaining === 0 ? message : message.copy())) failure ??= channel.backlog.lastError ?? new Error('disk write failed');
    }
    return failure;
  }

  private scheduleDrain(): void {
    if (this.draining === undefined && this.backlog.depth > 0) this.draining = setImmediate(this.drainBatch);
  }

  private drain(): void {
    this.draining = undefined;
    if (this.deleted || !this.flowing || this.channels.size === 0) return;
    for (let i = 0; i < DRAIN_BATCH; i++) {
      const message = this.backlog.shift();
      if (message === undefined) return;
      // Sync mode: its record at the topic goes once every channel has its copy on disk.
      const seq = message.diskSeq;
      message.diskSeq = -1;
      if (this.dispatch(message, false) === undefined) this.backlog.ack(seq);
    }
    this.scheduleDrain();
  }

  /** Clean shutdown: every channel persists, then the topic's own backlog. Returns each channel's deferred messages. */
  closeForShutdown(): Map<Channel, BrokerMessage[]> {
    if (this.draining !== undefined) clearImmediate(this.draining);
    this.draining = undefined;
    const deferred = new Map<Channel, BrokerMessage[]>();
    for (const channel of this.channels.values()) deferred.set(channel, channel.closeForShutdown());
    this.backlog.persistAndClose();
    return deferred;
  }

  delete(): void {
    this.deleted = true;
    if (this.draining !== undefined) clearImmediate(this.draining);
    for (const name of [...this.channels.keys()]) this.deleteChannel(name);
    this.backlog.deleteFiles();
  }
}
