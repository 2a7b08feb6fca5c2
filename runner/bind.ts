/**
 * Binds a loaded worker to NSQ: one consumer per task (channel `C` for a single task, `C.<task>` for
 * several, so the broker tracks delivery, attempts and requeues per task), a producer for `publish()`
 * and dead letters, the failure policy, and a close that drains.
 */
import type { Logger } from 'pino';
import { Consumer } from '../client/consumer.ts';
import type { Message } from '../client/message.ts';
import { Producer } from '../client/producer.ts';
import { DedupQueue } from './dedup.ts';
import type { BindMetricsSink } from './metrics.ts';
import { deadLetterEnvelope } from './dead-letter.ts';
import { createTaskHandler } from './pipeline.ts';
import { deadLetterTopicFor, type RunSettings } from './settings.ts';
import type { WorkerRuntime } from './worker-runtime.ts';

export interface Endpoints {
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
  /** Where publish() and dead letters go. */
  publishAddresses: string[];
}

export interface TaskCounters {
  received: number;
  finished: number;
  requeued: number;
  deadLettered: number;
  deduplicated: number;
  discarded: number;
}

export interface BoundWorker {
  readonly channels: ReadonlyMap<string, string>;
  readonly counters: ReadonlyMap<string, TaskCounters>;
  /** Stops taking messages, lets running tasks finish under the shutdown timeout, requeues the rest. Idempotent. */
  close(): Promise<void>;
}

/** The channel a task consumes: the worker's channel itself when it has one task. */
export function channelForTask(channel: string, task: string, taskCount: number): string {
  return taskCount === 1 ? channel : `${channel}.${task}`;
}

export function bindWorker(params: {
  settings: RunSettings;
  runtime: WorkerRuntime;
  options: Record<string, unknown>;
  endpoints: Endpoints;
  logger: Logger;
  /** Gets each task's counters, consumer and handler timing for /metrics; nothing is measured without it. */
  metrics?: BindMetricsSink;
}): BoundWorker {
  const { settings, runtime, options, endpoints, logger, metrics } = params;
  const topic = settings.topicPrefix + settings.topic;
  const deadLetterTopic = deadLetterTopicFor(settings, settings.topic);
  const workerLog = logger.child({ topic });
  const instance = runtime.instantiate(options, workerLog.child({ channel: settings.channel }));
  let closing: Promise<void> | undefined;
  const producer = new Producer({ nsqdTcpAddresses: endpoints.publishAddresses, closeTimeoutMs: settings.shutdownTimeoutMs });
  const abort = new AbortController();
  const publish = (target: string, body: Parameters<Producer['publish']>[1]): Promise<void> => producer.publish(target, body);
  const channels = new Map<string, string>();
  const counters = new Map<string, TaskCounters>();
  const consumers: Consumer[] = [];

  for (const task of runtime.taskNames) {
    const channel = channelForTask(settings.channel, task, runtime.taskNames.length);
    channels.set(task, channel);
    const count: TaskCounters = { received: 0, finished: 0, requeued: 0, deadLettered: 0, deduplicated: 0, discarded: 0 };
    counters.set(task, count);
    const log = workerLog.child({ channel, task });

    const deadLetter = async (message: Message, error: string): Promise<void> => {
      if (deadLetterTopic === undefined) return;
      await producer.publish(deadLetterTopic, deadLetterEnvelope({ topic, channel, task, message, error }));
      count.deadLettered++;
    };

    const handler = createTaskHandler({
      topic,
      channel,
      task,
      runtime,
      instance,
      options,
      dedup: new DedupQueue(settings.dedupQueueSize),
      log,
      signal: abort.signal,
      publish,
      discard: async (message, reason) => {
        count.discarded++;
        log.warn({ messageId: message.id, reason }, 'message rejected: discarded without running the task');
        await deadLetter(message, reason);
      },
      onDeduplicated: () => {
        count.deduplicated++;
      },
    });

    const consumer = new Consumer(
      {
        topic,
        channel,
        nsqdTcpAddresses: endpoints.nsqdTcpAddresses,
        lookupdHttpAddresses: endpoints.lookupdHttpAddresses,
        maxInFlight: settings.maxInFlight,
        maxAttempts: settings.maxAttempts,
        requeueDelayMs: settings.requeueDelayMs,
        closeTimeoutMs: settings.shutdownTimeoutMs,
        onGiveUp: async (message, error) => {
          log.error({ messageId: message.id, attempts: message.attempts, err: error }, 'giving up on message: dead-lettered');
          await deadLetter(message, error?.message ?? 'max attempts exceeded');
        },
      },
      metrics === undefined ? handler : metrics.timeTask({ topic, channel, task }, handler),
    );
    metrics?.watchTask({ topic, channel, task }, count, consumer);
    consumer.on('message', () => count.received++);
    consumer.on('finished', () => count.finished++);
    consumer.on('requeued', (message, delayMs, error) => {
      count.requeued++;
      log.warn({ messageId: message.id, attempts: message.attempts, delayMs, err: error }, 'task failed: message requeued');
    });
    consumer.on('error', (error) => log.error({ err: error }, 'consumer error'));
    consumer.on('warning', (warning) => log.warn(warning, warning.message));
    consumer.on('connected', (address) => log.info({ nsqd: address }, 'subscribed'));
    consumer.on('disconnected', (address, error) => {
      if (closing === undefined) log.warn({ nsqd: address, err: error }, 'disconnected');
      else log.debug({ nsqd: address }, 'disconnected');
    });
    consumers.push(consumer);
  }

  for (const consumer of consumers) consumer.start();

  return {
    channels,
    counters,
    close() {
      closing ??= (async () => {
        abort.abort(new Error('worker shutting down'));
        await Promise.all(consumers.map((consumer) => consumer.close()));
        try {
          await instance.close();
        } catch (error) {
          workerLog.error({ err: error }, 'worker close() failed');
        }
        await producer.close();
      })();
      return closing;
    },
  };
}
