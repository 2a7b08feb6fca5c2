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
 *
 * A worker killed (SIGKILL, the OOM killer, a power cut) between the pause and the unpause would
 * leave the topic paused, and nsqd keeps no word of who paused it: an operator's pause and ours look
 * the same. So the worker says it itself, in nsqd, where every later start (on this machine or
 * another, against our broker or real nsqd) can read it: right after pausing it creates a marker
 * channel, `<channel>.paused-by-nsqworker`, and deletes it after the unpause. A start that finds the
 * topic paused with its marker there finishes the job (creates what is missing, unpauses, deletes
 * the marker); a paused topic without it is an operator's and stays paused. The marker gets no
 * message while the topic is paused; deleted after the unpause rather than before, a kill in
 * between costs only the copies it took in that moment, not a topic paused for good. Not covered:
 * a kill after the pause is answered and before the marker is created (one HTTP round trip); that
 * topic stays paused, and the worker's next start says so.
 */
import type { TlsOption } from '../../client/options.ts';
import type { Logger } from 'pino';
import type { NsqdNodeInfo } from '../../client/consumer.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { pauseMarkerChannel } from '../config/run-names.ts';
import { NsqdHttp, NsqdHttpError, type TopicState } from './nsqd-http.ts';
import { warnTaskChannels } from './task-channel-warnings.ts';

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
      `topic ${topic} on ${httpAddress} is left paused (${(cause as Error).message}); unpaused on the next connection or start, or POST /topic/unpause?topic=${topic}`,
      { cause },
    );
  }
}

export interface ChannelsCreated {
  /** The task channels this call created. */
  created: string[];
  /** Whether the topic was paused meanwhile (it had a backlog to share and no channel). */
  paused: boolean;
  /** Whether it unpaused the topic an earlier run of this worker paused and did not unpause. */
  resumed: boolean;
  /** Whether the topic is paused by someone else (an operator), and so left paused. */
  pausedByOther: boolean;
  /** The topic's channels as they were before this call, for task-channel-warnings.ts. */
  before: TopicState['channels'];
}

/**
 * Creates what is missing of `channels` (the task channels of the worker whose own channel is
 * `workerChannel`) on one nsqd, sharing the topic's backlog among them all.
 */
export async function ensureTaskChannels(http: NsqdHttp, topic: string, channels: readonly string[], workerChannel: string): Promise<ChannelsCreated> {
  const q = `topic=${encodeURIComponent(topic)}`;
  const marker = pauseMarkerChannel(workerChannel);
  let state = await http.topicState(topic);
  if (state === undefined) {
    await http.post(`/topic/create?${q}`);
    // Created just now, or by someone else since: ask again rather than assume it has no channel.
    state = (await http.topicState(topic)) ?? { channels: new Map(), paused: false };
  }
  const ours = state.channels.has(marker);
  const missing = channels.filter((channel) => !state.channels.has(channel));
  const pausedByOther = state.paused && !ours;
  const before = state.channels;
  if (missing.length === 0 && !ours) return { created: [], paused: false, resumed: false, pausedByOther, before };
  // One channel alone takes the whole backlog anyway: no pause needed for it.
  const pause = !ours && state.channels.size === 0 && !state.paused && missing.length > 1;
  const unpause = pause || (ours && state.paused);
  if (pause) await http.post(`/topic/pause?${q}`);
  try {
    if (pause) await http.post(`/channel/create?${q}&channel=${encodeURIComponent(marker)}`);
    for (const channel of missing) await http.post(`/channel/create?${q}&channel=${encodeURIComponent(channel)}`);
  } finally {
    if (unpause) {
      try {
        await http.post(`/topic/unpause?${q}`);
      } catch (error) {
        // Never leave it unsaid: a paused topic holds every message, for every channel.
        throw new TopicLeftPausedError(http.baseUrl, topic, error);
      }
    }
  }
  if (pause || ours) {
    await http.post(`/channel/delete?${q}&channel=${encodeURIComponent(marker)}`).catch((error: unknown) => {
      // Another replica of this worker, finishing the same pause, deleted it first.
      if (!(error instanceof NsqdHttpError && error.status === 404)) throw error;
    });
  }
  return { created: missing, paused: pause, resumed: ours && state.paused, pausedByOther, before };
}

/** Where an nsqd's HTTP API is: given (lookupd's http_port, --nsqd-http-address), or not known. */
export type HttpAddressResolver = (nsqd: NsqdNodeInfo) => Promise<string | undefined>;

/** Says what ensureTaskChannels did on one nsqd. `warnPaused` says whether a topic paused by someone else is worth a warning now. */
export function logChannelsOutcome(log: Logger, topic: string, httpAddress: string, outcome: ChannelsCreated, warnPaused = true): void {
  if (outcome.resumed) {
    log.warn({ httpAddress }, `unpaused topic ${topic} on ${httpAddress}: an earlier run of this worker paused it and stopped before unpausing it`);
  }
  if (outcome.pausedByOther && warnPaused) {
    log.warn(
      { httpAddress },
      `topic ${topic} on ${httpAddress} is paused, not by this worker: left paused; its tasks get its messages once it is unpaused (POST /topic/unpause?topic=${topic})`,
    );
  }
  if (outcome.created.length === 0) return;
  log.info(
    { httpAddress, channels: outcome.created, pausedTopic: outcome.paused },
    `created channels ${outcome.created.join(', ')} of topic ${topic} on ${httpAddress}${outcome.paused ? ' (topic paused meanwhile, so its waiting messages reach every task)' : ''}`,
  );
}

/**
 * The consumers' `beforeSubscribe`: the task channels on an nsqd exist before any task subscribes
 * there. Calls for one nsqd at the same time (every task connecting at once) share one run; each
 * later connection runs it again, cheaply (one /stats), since an nsqd may have been replaced. A
 * pause whose unpause failed is finished by the next run, as a killed worker's is by the next start.
 */
export class TaskChannelGate {
  private readonly running = new Map<string, Promise<void>>();
  private readonly warnedNoHttp = new Set<string>();
  private readonly warnedPaused = new Set<string>();
  /**
   * The nsqd whose channels were looked at for stale ones: at the first connection only. After a
   * restart of nsqd, a replica that has not reconnected yet would make its channel look unread.
   */
  private readonly checkedStale = new Set<string>();
  /** Each nsqd's HTTP address as resolved when its tasks subscribed (lookupd's http_port among them). */
  private readonly resolved = new Map<string, string | undefined>();

  constructor(
    private readonly topic: string,
    /** The worker's channel, which names the pause marker. */
    private readonly workerChannel: string,
    private readonly resolveHttp: HttpAddressResolver,
    private readonly log: Logger,
    /** The worker's TLS options: an nsqd's 403 TLS_REQUIRED is followed to its https port with them. */
    private readonly tls?: TlsOption,
  ) {}

  /** Readies `nsqd` for the task `channels` the worker has now (a reload may have changed them). */
  readonly prepare = (nsqd: NsqdNodeInfo, channels: readonly string[]): Promise<void> => {
    let run = this.running.get(nsqd.tcpAddress);
    if (run === undefined) {
      run = this.run(nsqd, channels).finally(() => this.running.delete(nsqd.tcpAddress));
      this.running.set(nsqd.tcpAddress, run);
    }
    return run;
  };

  /** Where an nsqd's HTTP API is: as found when the tasks subscribed there, else resolved now; undefined when not known. */
  readonly httpAddressOf = async (tcpAddress: string): Promise<string | undefined> =>
    this.resolved.get(tcpAddress) ?? (await this.resolveHttp({ tcpAddress, httpAddress: undefined }));

  private async run(nsqd: NsqdNodeInfo, channels: readonly string[]): Promise<void> {
    const httpAddress = await this.resolveHttp(nsqd);
    this.resolved.set(nsqd.tcpAddress, httpAddress);
    if (httpAddress === undefined) {
      if (channels.length > 1 && !this.warnedNoHttp.has(nsqd.tcpAddress)) {
        this.warnedNoHttp.add(nsqd.tcpAddress);
        this.log.warn(
          { nsqd: nsqd.tcpAddress },
          `no HTTP address for nsqd ${nsqd.tcpAddress} (give --nsqd-http-address): each task's SUB creates its channel, so messages waiting in topic ${this.topic} before the first start reach only one task`,
        );
      }
      return;
    }
    const http = new NsqdHttp(httpAddress, 5000, this.tls);
    let outcome: ChannelsCreated;
    try {
      outcome = await ensureTaskChannels(http, this.topic, channels, this.workerChannel);
    } catch (error) {
      if (error instanceof TopicLeftPausedError) this.log.error({ nsqd: nsqd.tcpAddress }, error.message);
      throw error;
    }
    // Once per nsqd: every reconnection would say it again.
    const warnPaused = outcome.pausedByOther && !this.warnedPaused.has(httpAddress);
    if (warnPaused) this.warnedPaused.add(httpAddress);
    const log = this.log.child({ nsqd: nsqd.tcpAddress });
    logChannelsOutcome(log, this.topic, httpAddress, outcome, warnPaused);
    if (this.checkedStale.has(nsqd.tcpAddress)) return;
    this.checkedStale.add(nsqd.tcpAddress);
    warnTaskChannels(this.topic, outcome.before.values(), this.workerChannel, channels, http.baseUrl, log);
  }
}
