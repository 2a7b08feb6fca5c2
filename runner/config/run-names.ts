/**
 * The topic and channel names a run will use, checked before anything starts. The flags that
 * build them (--topic-prefix, --dead-letter-topic, task names appended to the channel) are free
 * strings, and a bad result used to surface late: a consumer's stack trace after the broker had
 * already created (and persisted) the bad topic, or dead letters that could never be published, so
 * every message given up on was lost with only an error line in the log.
 */
import { createHash } from 'node:crypto';
import { isEphemeralName, isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { deadLetterTopicFor, type RunSettings } from './settings.ts';

const EPHEMERAL = '#ephemeral';
const RULE = '^[.a-zA-Z0-9_-]+(#ephemeral)?$, 1..64 bytes';

/**
 * The channel a task consumes: the worker's channel itself when it has one task. An ephemeral
 * channel's tasks stay ephemeral: `#ephemeral` may only end a name, so it moves after the task.
 */
export function channelForTask(channel: string, task: string, taskCount: number): string {
  if (taskCount === 1) return channel;
  const base = isEphemeralName(channel) ? channel.slice(0, -EPHEMERAL.length) : channel;
  return base === channel ? `${channel}.${task}` : `${base}.${task}${EPHEMERAL}`;
}

/**
 * The channel that marks a pause of the topic as the worker's own, for the time it creates its task
 * channels (runner/ops/task-channels.ts says why). Persistent even for an ephemeral worker channel:
 * the marker has to outlive the process that made it.
 */
export function pauseMarkerChannel(channel: string): string {
  const base = isEphemeralName(channel) ? channel.slice(0, -EPHEMERAL.length) : channel;
  const named = `${base}.paused-by-nsqworker`;
  return isValidChannelName(named) ? named : `paused-by-nsqworker.${createHash('sha256').update(base).digest('hex').slice(0, 16)}`;
}

function usage(message: string): RunnerError {
  return new RunnerError(RunnerErrorCode.Usage, message);
}

export function checkRunNames(settings: RunSettings, taskNames: readonly string[]): void {
  const topic = settings.topicPrefix + settings.topic;
  if (!isValidTopicName(topic)) {
    throw usage(`--topic-prefix ${JSON.stringify(settings.topicPrefix)} makes the topic ${JSON.stringify(topic)}, which is not a valid topic name (${RULE})`);
  }
  const deadLetter = deadLetterTopicFor(settings, settings.topic);
  if (deadLetter !== undefined && !isValidTopicName(deadLetter)) {
    throw usage(
      `--dead-letter-topic ${JSON.stringify(settings.deadLetterTopic)} makes the dead-letter topic ${JSON.stringify(deadLetter)}, which is not a valid topic name (${RULE}); choose another, or '' for none`,
    );
  }
  for (const task of taskNames) {
    const channel = channelForTask(settings.channel, task, taskNames.length);
    if (!isValidChannelName(channel)) {
      throw new RunnerError(
        RunnerErrorCode.WorkerInvalid,
        `task ${task} would consume the channel ${JSON.stringify(channel)}, which is not a valid channel name (${RULE}); shorten the channel or the task name`,
      );
    }
  }
}
