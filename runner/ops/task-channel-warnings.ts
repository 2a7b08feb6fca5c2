/**
 * At a worker's start (and, on remote nsqd, at its first connection to each), the channels worth a
 * word. A task channel that is paused (by an operator, in the console or over HTTP; nsqd keeps the
 * pause across restarts) gets no messages, and nothing else would say why. And the topic's channels that look
 * like this worker's task channels from an earlier run with other tasks (`C` where there are several
 * tasks now, or `C.<task>` of a task it no longer has), that no client consumes. nsqd copies every
 * message of a topic into each of its channels, so such a channel keeps a copy of everything
 * published, and a later run that brings the task back replays that backlog. A reload names the
 * channels it stops using (task-set.ts); a restart with other tasks does it here, once per channel,
 * with the call that deletes it: never deleted behind the operator's back, as its backlog may still
 * be wanted.
 */
import type { Logger } from 'pino';
import type { Topic } from '../../broker/nsqd/topic.ts';
import { isEphemeralName } from '../../protocol/names.ts';
import { pauseMarkerChannel } from '../config/run-names.ts';
import { TASK_NAME } from '../worker/worker-runtime.ts';
import { channelCurl, type ChannelEntry } from './nsqd-http.ts';

/**
 * The stale channels among `channels` for a worker whose channel is `workerChannel` and whose tasks
 * consume `current`: the worker's own channel or `<workerChannel>.<task>`, not consumed today, with
 * no client; sorted by name. None for an ephemeral worker channel (nsqd deletes those when their
 * last client goes).
 */
function staleTaskChannels(channels: Iterable<ChannelEntry>, workerChannel: string, current: readonly string[]): ChannelEntry[] {
  if (isEphemeralName(workerChannel)) return [];
  const marker = pauseMarkerChannel(workerChannel);
  const prefix = `${workerChannel}.`;
  return [...channels]
    .filter(({ name }) => name === workerChannel || (name.startsWith(prefix) && TASK_NAME.test(name.slice(prefix.length))))
    .filter(({ name, clients }) => name !== marker && !current.includes(name) && clients === 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The embedded broker's channels of `topic`, as ChannelEntry. */
export function channelEntries(topic: Topic): ChannelEntry[] {
  return [...topic.channels.values()].map((channel) => ({
    name: channel.name,
    depth: channel.depth,
    deferred: channel.deferredCount,
    inFlight: channel.inFlightCount,
    clients: channel.subscribers.length,
    paused: channel.paused,
  }));
}

/**
 * Warns of each task channel among `channels` that is paused, with its depth and the curl call
 * that unpauses it; then of each stale channel (staleTaskChannels), with its depth and the call that
 * deletes it. `httpBase` is `http://host:port` (NsqdHttp's baseUrl).
 */
export function warnTaskChannels(topic: string, channels: Iterable<ChannelEntry>, workerChannel: string, current: readonly string[], httpBase: string, log: Logger): void {
  const entries = [...channels];
  const call = (action: 'unpause' | 'delete', channel: string): string => channelCurl(httpBase, action, topic, channel);
  for (const paused of entries.filter(({ name, paused }) => paused && current.includes(name))) {
    log.warn(
      { topic, channel: paused.name, depth: paused.depth },
      `channel ${paused.name} of topic ${topic} is paused: no message reaches its task until it is unpaused (${paused.depth} waiting); ` +
        `unpause it in the console (nsqworker admin) or with: ${call('unpause', paused.name)}`,
    );
  }
  for (const stale of staleTaskChannels(entries, workerChannel, current)) {
    log.warn({ topic, channel: stale.name, depth: stale.depth, deferred: stale.deferred }, `${staleChannelWords(stale, workerChannel, current, topic)} Delete it with: ${call('delete', stale.name)}`);
  }
}

/**
 * Why a stale channel is there and what its messages miss. Going from one task to several renames the
 * channel (`C` to `C.<task>`), and back: the backlog stays in the old name, which no task consumes now.
 */
function staleChannelWords(stale: ChannelEntry, workerChannel: string, current: readonly string[], topic: string): string {
  // Deferred ones are retries waiting for their delay: as much the task's backlog as the rest.
  const held = stale.depth + stale.deferred;
  const copies = `it keeps a copy of every message published to ${topic}.`;
  const backlog = (run: string): string =>
    held === 0 ? `nothing waits in it now, but ${copies}` : `the ${held} ${held === 1 ? 'message waiting in it is' : 'messages waiting in it are'} handled by no task (${run} would take them), and ${copies}`;
  if (stale.name === workerChannel) {
    return `channel ${stale.name} is this worker's from a run with one task; with several tasks each consumes ${workerChannel}.<task> instead: ${backlog('a run with one task again')}`;
  }
  const task = stale.name.slice(workerChannel.length + 1);
  if (current.length === 1 && current[0] === workerChannel) {
    return `channel ${stale.name} is task ${task}'s from a run with several tasks; with one task the worker consumes ${workerChannel} instead: ${backlog(`a run with several tasks, ${task} among them,`)}`;
  }
  const tasks = current.map((channel) => channel.slice(workerChannel.length + 1));
  return `channel ${stale.name} is task ${task}'s from an earlier run; this worker has no task ${task} now (tasks ${tasks.join(', ')}): ${backlog(`a run that brings ${task} back`)}`;
}
