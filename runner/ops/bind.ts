/**
 * Binds a worker to NSQ: one consumer per task (channel `C` for a single task, `C.<task>` for
 * several, so the broker tracks delivery, attempts and requeues per task), a producer for `publish()`
 * and dead letters, the per-task dedup queues, the failure policy, and a close that drains. The
 * worker's code runs in a {@link TaskExecutor}: in this process, or in a reloadable child.
 */
import { clientSecurity } from '../config/client-security.ts';
import type { Logger } from 'pino';
import { childWithFields } from '../worker/log-fields.ts';
import type { PublishBody } from '../../client/body.ts';
import { Consumer, type NsqdNodeInfo } from '../../client/consumer.ts';
import { LookupdDiscovery } from '../../client/lookupd-discovery.ts';
import { logDiscovery } from './discovery-log.ts';
import type { Message } from '../../client/message.ts';
import { Producer } from '../../client/producer.ts';
import { DedupQueue } from '../worker/dedup.ts';
import type { BindMetricsSink } from './metrics.ts';
import type { TaskCounters } from './task-counters.ts';
import { deadLetterEnvelope, deadLetterJson } from '../worker/dead-letter.ts';
import { EVERY_TASK, isOwnReplay, readReplay } from '../worker/replay.ts';
import { giveUp, logCutOff, logRequeue, reject } from './task-outcome-log.ts';
import { logConsumerWarning } from './consumer-warning.ts';
import { logConsumerError } from './late-answer.ts';
import type { TaskInput, TaskOutcome } from '../worker/pipeline.ts';
import { workerClientId, workerUserAgent } from './user-agent.ts';
import type { TaskExecutor } from './executor.ts';
import { channelForTask } from '../config/run-names.ts';
import { deadLetterTopicFor, type RunSettings } from '../config/settings.ts';
import { createTaskChannel, diffTaskChannels, retireChannel, type ChannelCleanup } from './task-set.ts';

export interface Endpoints {
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
  /** Where publish() and dead letters go. */
  publishAddresses: string[];
}

/** What the binding hands the executor it runs tasks in. */
export interface ExecutorDeps {
  topic: string;
  /** The worker's channel, as named by its file. */
  channel: string;
  channelOf(task: string): string;
  log: Logger;
  publish(topic: string, body: PublishBody): Promise<void>;
  seen(task: string, key: string, scope: number): boolean;
  /** Each task's processed keys, oldest first: what a replacement executor starts from. */
  dedupSnapshot(): Record<string, string[]>;
  /**
   * The worker's tasks changed on reload: drains and stops the consumers of tasks whose channel goes
   * (on the old code), and returns what starts the new ones, to call once the new code is in place.
   */
  changeTasks(next: readonly string[]): Promise<() => void>;
  /** Changes every task's maxInFlight now (RDY follows), and that of tasks added later. */
  setMaxInFlight(maxInFlight: number): void;
}

export interface BoundWorker {
  readonly channels: ReadonlyMap<string, string>;
  readonly counters: ReadonlyMap<string, TaskCounters>;
  readonly consumers: readonly Consumer[];
  /** Each task with messages its code is handling now, and how many: `{ send: 2 }` ({} when none). */
  runningTasks(): Record<string, number>;
  /** Stops taking messages, lets running tasks finish under the shutdown timeout, requeues the rest. Idempotent. */
  close(): Promise<void>;
}

export async function bindWorker(params: {
  settings: RunSettings;
  taskNames: readonly string[];
  createExecutor: (deps: ExecutorDeps) => TaskExecutor | Promise<TaskExecutor>;
  endpoints: Endpoints;
  logger: Logger;
  /** Gets each task's counters, consumer and handler timing for /metrics; nothing is measured without it. */
  metrics?: BindMetricsSink;
  /**
   * Runs on each nsqd before a task subscribes there: creates every task channel (task-channels.ts),
   * those of the tasks the code has now: a channel of a task removed on reload is not made again.
   */
  prepareNsqd?: (nsqd: NsqdNodeInfo, channels: readonly string[]) => Promise<void>;
  /** The bound health address, named in the consumers' user agent. */
  healthAddress?: string;
  /** What happens to the channel of a task removed on reload (warned about by default). */
  channelCleanup?: ChannelCleanup;
  /** Each error of a task's consumer, after it is logged (run.ts stops on a wrong --nsqd-tcp-address). */
  onConsumerError?: (error: Error) => void;
}): Promise<BoundWorker> {
  const { settings, taskNames, endpoints, logger, metrics } = params;
  const topic = settings.topicPrefix + settings.topic;
  const deadLetterTopic = deadLetterTopicFor(settings, settings.topic);
  // Said in the log line, so that whoever reads it knows where to look (or that there is nowhere).
  const deadLetterFate = deadLetterTopic === undefined ? 'dropped (--dead-letter-topic is empty)' : `dead-lettered to topic ${deadLetterTopic}`;
  const workerLog = childWithFields(logger, { topic });
  // Every connection of the worker (tasks, dead letters, publish()) shares the same TLS, compression and AUTH.
  const security = clientSecurity(settings);
  const producer = new Producer({ nsqdTcpAddresses: endpoints.publishAddresses, closeTimeoutMs: settings.shutdownTimeoutMs, ...security });
  // --topic-prefix applies to every topic, including those a task publishes to: a staging worker
  // must not write into the unprefixed (production) topics.
  const publish = (target: string, body: PublishBody): Promise<void> => producer.publish(settings.topicPrefix + target, body);
  const dedup = new Map(taskNames.map((task) => [task, new DedupQueue(settings.dedupQueueSize)]));
  // The one runner setting a config change applies without a restart (see runner/reload/settings-change.ts).
  let maxInFlight = settings.maxInFlight;
  // The tasks of the code running now: a reload may change them.
  let current: readonly string[] = [...taskNames];
  const consumerOf = new Map<string, Consumer>();
  /** Consumers of tasks removed on reload, being drained and closed: their disconnects are ours. */
  const retiring = new Set<Consumer>();
  const executor = await params.createExecutor({
    topic,
    channel: settings.channel,
    channelOf: (task) => channelForTask(settings.channel, task, current.length),
    log: workerLog,
    publish,
    seen: (task, key, scope) => dedup.get(task)?.has(key, scope) ?? false,
    dedupSnapshot: () => Object.fromEntries([...dedup].map(([task, queue]) => [task, queue.keysOldestFirst()])),
    setMaxInFlight: (next) => {
      maxInFlight = next;
      for (const consumer of consumerOf.values()) consumer.setMaxInFlight(next);
    },
    changeTasks: async (next) => {
      const change = diffTaskChannels(channels, next, settings.channel);
      const cleanup = params.channelCleanup ?? { httpAddressOf: async () => undefined, createAt: undefined, deleteRemoved: false };
      await Promise.all(change.added.map((added) => createTaskChannel(topic, added.channel, cleanup, workerLog)));
      await Promise.all(
        change.removed.map(async (removed) => {
          const consumer = consumerOf.get(removed.task)!;
          // Every nsqd it consumed from has the channel; asked before the close forgets them.
          const nsqds = consumer.knownAddresses;
          retiring.add(consumer);
          await consumer.close();
          retiring.delete(consumer);
          consumers.splice(consumers.indexOf(consumer), 1);
          consumerOf.delete(removed.task);
          channels.delete(removed.task);
          counters.delete(removed.task);
          metrics?.unwatchTask({ topic, channel: removed.channel, task: removed.task });
          if (removed.kept !== true) await retireChannel(topic, removed, nsqds, cleanup, workerLog);
        }),
      );
      current = [...next];
      for (const task of [...dedup.keys()]) if (!next.includes(task)) dedup.delete(task);
      for (const task of next) if (!dedup.has(task)) dedup.set(task, new DedupQueue(settings.dedupQueueSize));
      return () => {
        for (const added of change.added) {
          const consumer = addTask(added.task);
          consumers.push(consumer);
          consumer.start();
          const what = added.movedFrom === undefined ? 'added' : `moved from channel ${added.movedFrom}`;
          workerLog.info({ task: added.task, channel: added.channel }, `task ${added.task} ${what}: consuming channel ${added.channel}`);
        }
      };
    },
  });
  const channels = new Map<string, string>();
  const counters = new Map<string, TaskCounters>();
  const consumers: Consumer[] = [];
  let closing: Promise<void> | undefined;
  // One lookupd poller for all the tasks: they learn of an nsqd at the same moment and subscribe
  // together, and what was found (or is awaited) is said once, here.
  const discovery =
    endpoints.lookupdHttpAddresses.length === 0
      ? undefined
      : new LookupdDiscovery({
          topic,
          lookupdHttpAddresses: endpoints.lookupdHttpAddresses,
          lookupdPollIntervalMs: settings.lookupdPollIntervalMs,
          tls: security.tls,
        });
  if (discovery !== undefined) logDiscovery(discovery, workerLog);
  const prepare = params.prepareNsqd;
  const prepareNsqd = prepare === undefined ? undefined : (nsqd: NsqdNodeInfo): Promise<void> => prepare(nsqd, [...channels.values()]);

  const addTask = (task: string): Consumer => {
    const channel = channelForTask(settings.channel, task, current.length);
    channels.set(task, channel);
    const count: TaskCounters = { received: 0, finished: 0, requeued: 0, deadLettered: 0, deduplicated: 0, discarded: 0 };
    counters.set(task, count);
    const log = childWithFields(workerLog, { channel, task });
    const taskDedup = dedup.get(task)!;

    const replayed = new WeakMap<Message, Buffer>(); // a replay failing again is dead-lettered with its own body
    const deadLetter = async (message: Message, error: string, rejected = false): Promise<void> => {
      if (deadLetterTopic === undefined) return;
      await producer.publish(deadLetterTopic, deadLetterJson(deadLetterEnvelope({ topic, channel, task, message: { id: message.id, attempts: message.attempts, exactTimestampNs: message.exactTimestampNs, body: replayed.get(message) ?? message.body }, error, rejected })));
      count.deadLettered++;
    };

    const afterRun = (message: Message, outcome: TaskOutcome): Promise<void> | undefined => {
      switch (outcome.kind) {
        case 'done':
          taskDedup.add(outcome.key, outcome.scope);
          return undefined;
        case 'deduplicated':
          count.deduplicated++;
          return undefined;
        case 'discarded':
          count.discarded++;
          // Every task's channel rejects the same message; one dead letter (from the first task) is enough.
          if (task !== current[0]) return undefined;
          return reject(log, message, outcome.reason, deadLetterFate, () => deadLetter(message, outcome.reason, true));
      }
    };

    // Synchronous when the task is: no promise per message unless the worker's code makes one.
    const handler = (message: Message): Promise<void> | undefined => {
      // Counted here, not on the consumer's 'message' event (emitted just before this call): one
      // event less per message.
      count.received++;
      let input: TaskInput = message;
      const replay = readReplay(message.body);
      if (replay !== undefined) {
        // A replay is for one worker and one task (or all its tasks): the others finish it without running.
        if (!isOwnReplay(replay, settings.channel)) return;
        if (replay.task !== task && replay.task !== EVERY_TASK) {
          if (task === current[0] && !current.includes(replay.task)) log.warn({ messageId: message.id, task: replay.task }, 'replay for a task this worker does not have: finished unhandled');
          return;
        }
        input = { id: message.id, nsqdAddress: message.nsqdAddress, attempts: message.attempts, timestamp: message.timestamp, body: replay.body, touch: () => message.touch() };
        replayed.set(message, replay.body);
        log.info({ messageId: message.id }, replay.task === EVERY_TASK ? 'replayed rejected message: running the task' : 'replayed dead letter: running the task again');
      }
      const outcome = executor.run(task, input);
      if (outcome instanceof Promise) return outcome.then((settled) => afterRun(message, settled));
      return afterRun(message, outcome);
    };

    const consumer = new Consumer(
      {
        topic,
        channel,
        nsqdTcpAddresses: endpoints.nsqdTcpAddresses,
        lookupdHttpAddresses: endpoints.lookupdHttpAddresses,
        maxInFlight,
        maxAttempts: settings.maxAttempts,
        requeueDelayMs: settings.requeueDelayMs,
        maxBackoffDurationMs: settings.maxBackoffDurationMs,
        closeTimeoutMs: settings.shutdownTimeoutMs,
        discovery,
        beforeSubscribe: prepareNsqd,
        ...security,
        userAgent: workerUserAgent({ topic, channel: settings.channel, task, deadLetterTopic, healthAddress: params.healthAddress }),
        clientId: workerClientId(),
        onGiveUp: (message, error) => giveUp(log, message, error, deadLetterFate, () => deadLetter(message, error?.message ?? 'max attempts exceeded')),
      },
      metrics === undefined ? handler : metrics.timeTask({ topic, channel, task }, handler),
    );
    metrics?.watchTask({ topic, channel, task }, count, consumer);
    consumer.on('finished', () => count.finished++);
    consumer.on('requeued', (message, delayMs, error) => {
      count.requeued++;
      logRequeue(log, message, delayMs, error, closing !== undefined);
    });
    consumer.on('error', (error) => {
      logConsumerError(log, error);
      params.onConsumerError?.(error);
    });
    consumer.on('warning', (warning) => logConsumerWarning(log, consumer, warning));
    consumer.on('connected', (address) => log.info({ nsqd: address }, 'subscribed'));
    consumer.on('disconnected', (address, error) => {
      // No stack either: a dropped connection is the network's doing, and the reconnects follow.
      const reason = error === undefined ? {} : { code: (error as { code?: unknown }).code, reason: error.message };
      if (closing === undefined && !retiring.has(consumer)) log.warn({ nsqd: address, ...reason }, 'disconnected');
      else log.debug({ nsqd: address }, 'disconnected');
    });
    consumerOf.set(task, consumer);
    return consumer;
  };

  for (const task of taskNames) consumers.push(addTask(task));
  for (const consumer of consumers) consumer.start();
  discovery?.start();

  return {
    channels,
    counters,
    consumers,
    runningTasks() {
      const running: Record<string, number> = {};
      for (const [task, consumer] of consumerOf) if (consumer.runningHandlers > 0) running[task] = consumer.runningHandlers;
      return running;
    },
    close() {
      closing ??= (async () => {
        executor.abort();
        discovery?.stop();
        logCutOff(workerLog, await Promise.all(consumers.map((consumer) => consumer.close().then(() => consumer.runningHandlers))));
        try {
          await executor.close();
        } catch (error) {
          workerLog.error({ err: error }, 'worker close() failed');
        }
        await producer.close();
      })();
      return closing;
    },
  };
}
