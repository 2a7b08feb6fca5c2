/**
 * Where a worker's code runs. In production it runs in the worker process itself; under `--watch`
 * it runs in a child process that can be replaced when the code changes (see runner/reload/). The
 * binding to NSQ, the dead letters and the dedup queues stay with the caller either way.
 */
import type { Logger } from 'pino';
import { childWithFields } from '../worker/log-fields.ts';
import type { PublishBody } from '../../client/body.ts';
import { RequeueMessage } from '../../client/errors.ts';
import { runTask, type TaskInput, type TaskOutcome } from '../worker/pipeline.ts';
import type { WorkerRuntime } from '../worker/worker-runtime.ts';

export interface TaskExecutor {
  readonly taskNames: readonly string[];
  /** The outcome, synchronously when the worker's code ran synchronously (see runTask). */
  run(task: string, input: TaskInput): TaskOutcome | Promise<TaskOutcome>;
  /** Shutdown has begun: raises the tasks' AbortSignal. */
  abort(): void;
  /** Releases the worker (its close hook); no task runs after this. */
  close(): Promise<void>;
}

/**
 * What run() throws for a message that waited (at a reload's swap, or for its code to load again)
 * until shutdown began: nsqd has it back at once, without a backoff, rather than it starting on code
 * that has been told to stop, perhaps after nsqd timed it out and sent it to another consumer.
 */
export class NotStartedAtShutdown extends RequeueMessage {
  constructor() {
    super(0, false);
    this.message = 'shutting down: the task had not started';
  }
}

export class InProcessExecutor implements TaskExecutor {
  readonly taskNames: readonly string[];
  private readonly abortController = new AbortController();
  private readonly env: Parameters<typeof runTask>[0];

  constructor(params: {
    topic: string;
    channel: string;
    channelOf(task: string): string;
    runtime: WorkerRuntime;
    options: Record<string, unknown>;
    log: Logger;
    publish(topic: string, body: PublishBody): Promise<void>;
    seen(task: string, key: string, scope: number): boolean;
  }) {
    const { runtime } = params;
    this.taskNames = runtime.taskNames;
    this.env = {
      ...params,
      instance: runtime.instantiate(params.options, childWithFields(params.log, { channel: params.channel })),
      signal: this.abortController.signal,
    };
  }

  run(task: string, input: TaskInput): TaskOutcome | Promise<TaskOutcome> {
    return runTask(this.env, task, input);
  }

  abort(): void {
    this.abortController.abort(new Error('worker shutting down'));
  }

  async close(): Promise<void> {
    this.abort();
    await this.env.instance.close();
  }
}
