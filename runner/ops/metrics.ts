/**
 * The worker's Prometheus metrics, on a registry of its own (never prom-client's global one, so two
 * workers in one process, or a test, never share series). Counters are read from the per-task
 * counters bind already keeps, at scrape time: the message path pays nothing for them. Only the task
 * duration histogram is recorded per message, and only when metrics are on.
 *
 * A timeout happens inside nsqd, which tells the consumer nothing when it occurs; it is seen when
 * the task finally answers and nsqd refuses the late FIN or REQ (E_FIN_FAILED, E_REQ_FAILED). That
 * is what `nsqworker_messages_timed_out_total` counts: a task that runs past the message timeout and
 * then answers. A connection lost meanwhile hides it (nsqd redelivers, and the answer goes nowhere).
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Consumer, MessageHandler } from '../../client/consumer.ts';
import type { Message } from '../../client/message.ts';
import type { TaskCounters } from './task-counters.ts';
import { errorCode, LATE_ANSWER_CODES } from './late-answer.ts';

/** The labels of every per-task series. */
export interface TaskLabels {
  topic: string;
  channel: string;
  task: string;
}

/** What metrics read of a task's consumer, at scrape time. */
export type ConsumerView = Pick<Consumer, 'runningHandlers' | 'connectedAddresses' | 'knownAddresses' | 'on'>;

/**
 * What bind hands to metrics for each task. Optional for bind: without a sink nothing is measured.
 * Hot reload may bind a task again: the new consumer replaces the old one under the same labels.
 */
export interface BindMetricsSink {
  /** Wraps a task's handler so each run's duration is recorded. */
  timeTask(labels: TaskLabels, handler: MessageHandler): MessageHandler;
  /** Registers a task's counters and consumer, read on every scrape. */
  watchTask(labels: TaskLabels, counters: Readonly<TaskCounters>, consumer: ConsumerView): void;
  /** A task removed on reload (its consumer drained): its series leave /metrics. */
  unwatchTask(labels: TaskLabels): void;
}

/** Why a worker is or is not ready, for /healthz. */
export interface Readiness {
  ready: boolean;
  status: 'starting' | 'ok' | 'connecting' | 'draining';
  tasks: Record<string, { channel: string; connected: string[]; known: string[] }>;
}

interface WatchedTask {
  labels: TaskLabels;
  counters: Readonly<TaskCounters>;
  consumer: ConsumerView;
  timedOut: number;
}

const TASK_LABELS = ['topic', 'channel', 'task'] as const;

/** Counter name → the TaskCounters field it mirrors. */
const MIRRORED: ReadonlyArray<[name: string, help: string, read: (task: WatchedTask) => number]> = [
  ['nsqworker_messages_received_total', 'Messages delivered to the task.', (t) => t.counters.received],
  ['nsqworker_messages_finished_total', 'Messages finished (FIN) on the task channel: done, deduplicated, discarded or dead-lettered.', (t) => t.counters.finished],
  ['nsqworker_messages_requeued_total', 'Messages requeued (REQ) after the task failed, or on shutdown.', (t) => t.counters.requeued],
  ['nsqworker_messages_timed_out_total', 'Task answers nsqd refused because the message had timed out (E_FIN_FAILED, E_REQ_FAILED).', (t) => t.timedOut],
  ['nsqworker_messages_dead_lettered_total', 'Messages published to the dead-letter topic.', (t) => t.counters.deadLettered],
  ['nsqworker_messages_deduplicated_total', 'Redelivered messages the dedup queue had seen: finished without running the task.', (t) => t.counters.deduplicated],
  ['nsqworker_messages_discarded_total', 'Messages that failed the body schema or validate(): no task ran.', (t) => t.counters.discarded],
];

function taskKey(labels: TaskLabels): string {
  return `${labels.topic}\u0000${labels.channel}\u0000${labels.task}`;
}

/** One worker process's metrics and readiness. */
export class WorkerMetrics implements BindMetricsSink {
  readonly registry = new Registry();
  private readonly tasks = new Map<string, WatchedTask>();
  private readonly durations: Histogram<'topic' | 'channel' | 'task'>;
  private readonly reloads: Counter<'topic' | 'channel' | 'result'>;
  private draining = false;

  /** `worker` labels the reload counter: the worker's topic and channel as given on the command line. */
  constructor(
    private readonly worker: { topic: string; channel: string },
    options: { processMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    const tasks = this.tasks;
    for (const [name, help, read] of MIRRORED) {
      new Counter({
        name,
        help,
        labelNames: TASK_LABELS,
        registers,
        collect() {
          this.reset();
          for (const task of tasks.values()) this.inc(task.labels, read(task));
        },
      });
    }
    new Gauge({
      name: 'nsqworker_messages_in_flight',
      help: 'Messages whose task is running now.',
      labelNames: TASK_LABELS,
      registers,
      collect() {
        this.reset();
        for (const task of tasks.values()) this.set(task.labels, task.consumer.runningHandlers);
      },
    });
    new Gauge({
      name: 'nsqworker_nsqd_connected',
      help: 'Per nsqd the task consumes from: 1 when connected and subscribed, 0 while (re)connecting.',
      labelNames: [...TASK_LABELS, 'nsqd'],
      registers,
      collect() {
        this.reset();
        for (const task of tasks.values()) {
          const connected = new Set(task.consumer.connectedAddresses);
          for (const nsqd of new Set([...task.consumer.knownAddresses, ...connected])) {
            this.set({ ...task.labels, nsqd }, connected.has(nsqd) ? 1 : 0);
          }
        }
      },
    });
    const readiness = (): Readiness => this.readiness();
    new Gauge({
      name: 'nsqworker_ready',
      help: '1 when every task is subscribed on at least one nsqd and the worker is not draining (/healthz answers 200).',
      registers,
      collect() {
        this.set(readiness().ready ? 1 : 0);
      },
    });
    const isDraining = (): boolean => this.draining;
    new Gauge({
      name: 'nsqworker_draining',
      help: '1 from the first shutdown signal on.',
      registers,
      collect() {
        this.set(isDraining() ? 1 : 0);
      },
    });
    this.durations = new Histogram({
      name: 'nsqworker_task_duration_seconds',
      help: 'Time a task took per message, from delivery to its answer (success or failure), in seconds.',
      labelNames: TASK_LABELS,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.reloads = new Counter({
      name: 'nsqworker_reloads_total',
      help: 'Hot reloads of the worker code: result="applied" when new code runs, "failed" when the old code kept running.',
      labelNames: ['topic', 'channel', 'result'],
      registers,
    });
    for (const result of ['applied', 'failed'] as const) this.reloads.inc({ ...worker, result }, 0);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  timeTask(labels: TaskLabels, handler: MessageHandler): MessageHandler {
    const histogram = this.durations.labels(labels);
    return (message: Message): Promise<void> | void => {
      const started = performance.now();
      const observe = (): void => histogram.observe((performance.now() - started) / 1000);
      let result: Promise<void> | void;
      try {
        result = handler(message);
      } catch (error) {
        observe();
        throw error;
      }
      if (result === undefined) return observe();
      return result.finally(observe);
    };
  }

  watchTask(labels: TaskLabels, counters: Readonly<TaskCounters>, consumer: ConsumerView): void {
    const watched: WatchedTask = { labels: { ...labels }, counters, consumer, timedOut: 0 };
    this.tasks.set(taskKey(labels), watched);
    consumer.on('error', (error) => {
      const code = errorCode(error);
      if (code !== undefined && LATE_ANSWER_CODES.has(code)) watched.timedOut++;
    });
  }

  unwatchTask(labels: TaskLabels): void {
    // The mirrored counters and gauges are rebuilt from `tasks` on every scrape; the histogram
    // keeps its series until told, and a task that is gone should not be graphed as if idle.
    this.tasks.delete(taskKey(labels));
    this.durations.remove({ ...labels });
  }

  /** Counts one hot reload of the worker code. */
  recordReload(result: 'applied' | 'failed' = 'applied'): void {
    this.reloads.inc({ ...this.worker, result });
  }

  /** From the first shutdown signal on, the worker is not ready. Irreversible. */
  setDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Ready once every task has a subscribed connection, and until shutdown begins. */
  readiness(): Readiness {
    const tasks: Readiness['tasks'] = {};
    let allConnected = this.tasks.size > 0;
    for (const task of this.tasks.values()) {
      const connected = task.consumer.connectedAddresses;
      if (connected.length === 0) allConnected = false;
      tasks[task.labels.task] = { channel: task.labels.channel, connected, known: task.consumer.knownAddresses };
    }
    const status = this.draining ? 'draining' : this.tasks.size === 0 ? 'starting' : allConnected ? 'ok' : 'connecting';
    return { ready: status === 'ok', status, tasks };
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
