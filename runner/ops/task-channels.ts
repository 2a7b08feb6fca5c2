/**
 * Every task of a worker gets every message: the ones waiting in the topic when the worker first
 * starts, and every one after. A topic keeps its messages until its first channel appears, then hands
 * them all to that channel at once (nsqd and our broker alike), so task channels created one after
 * another — or by each task's SUB — split a backlog: the first gets it all, the others nothing.
 *
 * So, on each nsqd, before any task subscribes: where the topic has no channel yet, the topic is
 * paused, every task channel created, and the topic unpaused (in a finally). A topic an operator
 * paused is left paused (its channels are created; they all get the backlog when it is unpaused), and
 * a topic that already has channels has nothing waiting to split: missing task channels are created
 * and get the messages from then on.
 */
import type { TlsOption } from '../../client/options.ts';
import type { Logger } from 'pino';
import type { NsqdNodeInfo } from '../../client/consumer.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { NsqdHttp } from './nsqd-http.ts';

/** The topic was paused to create the task channels, and unpausing it failed: it holds every message. */
export class TopicLeftPausedError extends CodedError<'E_TOPIC_LEFT_PAUSED'> {
  override readonly name = 'TopicLeftPausedError';
  constructor(
    readonly httpAddress: string,
    readonly topic: string,
    cause: unknown,
  ) {
    super(
      'E_TOPIC_LEFT_PAUSED',
      `topic ${topic} on ${httpAddress} is left paused (${(cause as Error).message}); retried on the next connection, or POST /topic/unpause?topic=${topic}`,
      { cause },
    );
  }
}

export interface ChannelsCreated {
  /** The task channels this call created. */
  created: string[];
  /** Whether the topic was paused meanwhile (it had a backlog to share and no channel). */
  paused: boolean;
}

/** Creates what is missing of `channels` on one nsqd, sharing the topic's backlog among them all. */
export async function ensureTaskChannels(http: NsqdHttp, topic: string, channels: readonly string[]): Promise<ChannelsCreated> {
  const q = `topic=${encodeURIComponent(topic)}`;
  let state = await http.topicState(topic);
  if (state === undefined) {
    await http.post(`/topic/create?${q}`);
    // Created just now, or by someone else since: ask again rather than assume it has no channel.
    state = (await http.topicState(topic)) ?? { channels: new Set(), paused: false };
  }
  const missing = channels.filter((channel) => !state.channels.has(channel));
  if (missing.length === 0) return { created: [], paused: false };
  // One channel alone takes the whole backlog anyway: no pause needed for it.
  const pause = state.channels.size === 0 && !state.paused && missing.length > 1;
  if (pause) await http.post(`/topic/pause?${q}`);
  try {
    for (const channel of missing) await http.post(`/channel/create?${q}&channel=${encodeURIComponent(channel)}`);
  } finally {
    if (pause) {
      try {
        await http.post(`/topic/unpause?${q}`);
      } catch (error) {
        // Never leave it unsaid: a paused topic holds every message, for every channel.
        throw new TopicLeftPausedError(http.baseUrl, topic, error);
      }
    }
  }
  return { created: missing, paused: pause };
}

/** Where an nsqd's HTTP API is: given (lookupd's http_port, --nsqd-http-address), or not known. */
export type HttpAddressResolver = (nsqd: NsqdNodeInfo) => Promise<string | undefined>;

/**
 * The consumers' `beforeSubscribe`: the task channels on an nsqd exist before any task subscribes
 * there. Calls for one nsqd at the same time (every task connecting at once) share one run; each
 * later connection runs it again, cheaply (one /stats), since an nsqd may have been replaced.
 */
export class TaskChannelGate {
  private readonly running = new Map<string, Promise<void>>();
  /** Topics this gate paused and could not unpause: retried first on the next connection. */
  private readonly leftPaused = new Set<string>();
  private readonly warnedNoHttp = new Set<string>();

  constructor(
    private readonly topic: string,
    private readonly channels: readonly string[],
    private readonly resolveHttp: HttpAddressResolver,
    private readonly log: Logger,
    /** The worker's TLS options: an nsqd's 403 TLS_REQUIRED is followed to its https port with them. */
    private readonly tls?: TlsOption,
  ) {}

  readonly prepare = (nsqd: NsqdNodeInfo): Promise<void> => {
    let run = this.running.get(nsqd.tcpAddress);
    if (run === undefined) {
      run = this.run(nsqd).finally(() => this.running.delete(nsqd.tcpAddress));
      this.running.set(nsqd.tcpAddress, run);
    }
    return run;
  };

  private async run(nsqd: NsqdNodeInfo): Promise<void> {
    const httpAddress = await this.resolveHttp(nsqd);
    if (httpAddress === undefined) {
      if (this.channels.length > 1 && !this.warnedNoHttp.has(nsqd.tcpAddress)) {
        this.warnedNoHttp.add(nsqd.tcpAddress);
        this.log.warn(
          { nsqd: nsqd.tcpAddress },
          `no HTTP address for nsqd ${nsqd.tcpAddress} (give --nsqd-http-address): each task's SUB creates its channel, so messages waiting in topic ${this.topic} before the first start reach only one task`,
        );
      }
      return;
    }
    const http = new NsqdHttp(httpAddress, 5000, this.tls);
    if (this.leftPaused.has(httpAddress)) {
      await http.post(`/topic/unpause?topic=${encodeURIComponent(this.topic)}`);
      this.leftPaused.delete(httpAddress);
      this.log.info({ nsqd: nsqd.tcpAddress }, `unpaused topic ${this.topic} on ${httpAddress}, left paused by an earlier failure`);
    }
    let outcome: ChannelsCreated;
    try {
      outcome = await ensureTaskChannels(http, this.topic, this.channels);
    } catch (error) {
      if (error instanceof TopicLeftPausedError) {
        this.leftPaused.add(httpAddress);
        this.log.error({ nsqd: nsqd.tcpAddress }, error.message);
      }
      throw error;
    }
    if (outcome.created.length === 0) return;
    this.log.info(
      { nsqd: nsqd.tcpAddress, httpAddress, channels: outcome.created, pausedTopic: outcome.paused },
      `created channels ${outcome.created.join(', ')} of topic ${this.topic} on ${httpAddress}${outcome.paused ? ' (topic paused meanwhile, so its waiting messages reach every task)' : ''}`,
    );
  }
}
