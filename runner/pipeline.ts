/**
 * What happens to one message on one task's channel: parse the body by the worker's schema,
 * validate, preprocess, skip it if the task's dedup queue has seen it, run the task, remember it.
 * A rejected message (schema or validate) is discarded: dead-lettered, then finished, because it
 * will never become valid. Failures are thrown to the consumer, which requeues or gives up.
 */
import type { Logger } from 'pino';
import type { Message } from '../client/message.ts';
import { GiveUpMessage, RequeueMessage } from '../client/errors.ts';
import type { PublishBody } from '../client/body.ts';
import type { DedupQueue } from './dedup.ts';
import type { WorkerInstance } from './worker-runtime.ts';
import type { WorkerRuntime } from './worker-runtime.ts';
import type { HookContext, TaskContext, WorkerMessage } from './worker.ts';

export interface TaskBinding {
  topic: string;
  channel: string;
  task: string;
  runtime: WorkerRuntime;
  instance: WorkerInstance;
  options: Record<string, unknown>;
  dedup: DedupQueue;
  log: Logger;
  signal: AbortSignal;
  publish(topic: string, body: PublishBody): Promise<void>;
  /** Called for a message that failed its schema or validate. */
  discard(message: Message, reason: string): Promise<void>;
  /** Counters for logs and metrics. */
  onDeduplicated(message: Message): void;
}

class MessageView implements WorkerMessage {
  data: unknown = undefined;
  constructor(readonly message: Message) {}
  get id(): string {
    return this.message.id;
  }
  get attempts(): number {
    return this.message.attempts;
  }
  get timestamp(): number {
    return this.message.timestamp;
  }
  get body(): Buffer {
    return this.message.body;
  }
  text(): string {
    return this.message.text();
  }
  json<T = unknown>(): T {
    return this.message.json<T>();
  }
}

/**
 * Errors a worker throws come from its own copy of the package when it was loaded in a fresh module
 * graph, so they are recognised by code, not by class, and re-thrown as the consumer's own.
 */
function translateControlError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof RequeueMessage || error instanceof GiveUpMessage) return error;
  if (code === 'E_REQUEUE') {
    const { delayMs, backoff } = error as { delayMs?: number; backoff?: boolean };
    return new RequeueMessage(delayMs, backoff ?? true, { cause: error });
  }
  if (code === 'E_GIVE_UP') return new GiveUpMessage((error as Error).message, { cause: error });
  return error;
}

export function createTaskHandler(binding: TaskBinding): (message: Message) => Promise<void> {
  const { instance, runtime, dedup } = binding;
  const run = instance.tasks.get(binding.task)!;
  return async (message) => {
    const log = binding.log.child({ messageId: message.id, attempts: message.attempts });
    const context: TaskContext = {
      topic: binding.topic,
      channel: binding.channel,
      task: binding.task,
      options: binding.options,
      log,
      signal: binding.signal,
      publish: binding.publish,
      touch: () => message.touch(),
    };
    const view = new MessageView(message);
    if (runtime.bodySchema !== undefined) {
      let json: unknown;
      try {
        json = message.json();
      } catch {
        return binding.discard(message, 'body is not valid JSON');
      }
      const parsed = runtime.bodySchema.safeParse(json);
      if (!parsed.success) {
        return binding.discard(message, `body does not match the worker's schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      view.data = parsed.data;
    }
    const hookContext: HookContext = context;
    if (instance.validate !== undefined && !(await instance.validate(view, hookContext))) {
      return binding.discard(message, 'validate returned false');
    }
    if (instance.preprocess !== undefined) {
      const preprocessed = await instance.preprocess(view, hookContext);
      if (preprocessed !== undefined) view.data = preprocessed;
    }
    const key = instance.dedupKey?.(view) ?? message.id;
    if (dedup.has(key)) {
      binding.onDeduplicated(message);
      log.debug({ dedupKey: key }, 'already processed: finishing without running the task again');
      return;
    }
    try {
      await run(view, context);
    } catch (error) {
      throw translateControlError(error);
    }
    dedup.add(key);
  };
}
