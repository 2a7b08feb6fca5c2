/**
 * At a worker's start on the broker it started: the topic's channels that look like this worker's
 * task channels from an earlier run with other tasks (`C` where there are several tasks now, or
 * `C.<task>` of a task it no longer has), that no client consumes. nsqd copies every message of a
 * topic into each of its channels, so such a channel keeps a copy of everything published, and a
 * later run that brings the task back replays that backlog. A reload names the channels it stops
 * using (task-set.ts); a restart with other tasks does it here, once per channel, with the call
 * that deletes it: never deleted behind the operator's back, as its backlog may still be wanted.
 */
import type { Logger } from 'pino';
import type { Topic } from '../../broker/nsqd/topic.ts';
import { isEphemeralName } from '../../protocol/names.ts';
import { pauseMarkerChannel } from '../config/run-names.ts';

/** Task names as worker-runtime.ts accepts them. */
const TASK_NAME = /^[.a-zA-Z0-9_-]+$/;

/**
 * The stale channels of `topic` for a worker whose channel is `workerChannel` and whose tasks
 * consume `current`: the worker's own channel or `<workerChannel>.<task>`, not consumed today, with
 * no subscriber. None for an ephemeral worker channel (nsqd deletes those when their last client goes).
 */
export function staleTaskChannels(topic: Pick<Topic, 'channels'>, workerChannel: string, current: readonly string[]): string[] {
  if (isEphemeralName(workerChannel)) return [];
  const marker = pauseMarkerChannel(workerChannel);
  const prefix = `${workerChannel}.`;
  return [...topic.channels.values()]
    .filter((channel) => channel.name === workerChannel || (channel.name.startsWith(prefix) && TASK_NAME.test(channel.name.slice(prefix.length))))
    .filter((channel) => channel.name !== marker && !current.includes(channel.name) && channel.subscribers.length === 0)
    .map((channel) => channel.name)
    .sort();
}

/** Warns once per stale channel (staleTaskChannels), with its depth and the curl call that deletes it. */
export function warnStaleTaskChannels(topic: Topic, workerChannel: string, current: readonly string[], httpAddress: string, log: Logger): void {
  for (const name of staleTaskChannels(topic, workerChannel, current)) {
    const query = `topic=${encodeURIComponent(topic.name)}&channel=${encodeURIComponent(name)}`;
    const depth = topic.getChannel(name)?.depth ?? 0;
    log.warn(
      { topic: topic.name, channel: name, depth },
      `channel ${name} looks like a task channel of an earlier run: none of this worker's tasks consume it (${current.join(', ')}), ` +
        `and it keeps a copy of every message published to ${topic.name} (${depth} now); a run that brings its task back replays them. ` +
        `Delete it with: curl -X POST 'http://${httpAddress}/channel/delete?${query}'`,
    );
  }
}
