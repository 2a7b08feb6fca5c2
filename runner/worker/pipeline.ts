/**
 * What happens to one message on one task's channel: parse the body by the worker's schema,
 * validate, preprocess, skip it if the task has already processed its dedup key, run the task. The
 * result says what happened; the caller finishes, dead-letters or counts accordingly. A task's
 * failure is thrown (as the consumer's own control errors where the task asked for one).
 *
 * It runs in the worker process, or in a reloadable child under `--watch`: it needs no connection.
 */
import type { Logger } from 'pino';
import { idScopeOf } from './dedup.ts';
import { childWithFields } from './log-fields.ts';
import type { PublishBody } from '../../client/body.ts';
import type { WorkerInstance, WorkerRuntime } from './worker-runtime.ts';
import type { TaskContext, WorkerMessage } from './worker.ts';

/** The message fields a task needs, wherever it runs. */
export interface TaskInput {
  readonly id: string;
  /** The nsqd the message came from (host:port): ids are unique per nsqd only ({@link idScopeOf}). */
  readonly nsqdAddress: string;
  readonly attempts: number;
  readonly timestamp: number;
  readonly body: Buffer;
  touch(): void;
}

export type TaskOutcome =
  | { kind: 'done'; key: string; scope: number }
  | { kind: 'deduplicated'; key: string; scope: number }
  | { kind: 'discarded'; reason: string };

export interface TaskEnvironment {
  topic: string;
  /** The channel a task consumes (`C`, or `C.<task>` when the worker has several tasks). */
  channelOf(task: string): string;
  runtime: WorkerRuntime;
  instance: WorkerInstance;
  options: Record<string, unknown>;
  log: Logger;
  signal: AbortSignal;
  publish(topic: string, body: PublishBody): Promise<void>;
  /** Whether `task` processed `key` in `scope` ({@link DedupQueue.has}). */
  seen(task: string, key: string, scope: number): boolean;
}

class MessageView implements WorkerMessage {
  data: unknown = undefined;
  // Private to the language too: the view is the worker's, and its input holds touch() and the nsqd.
  readonly #input: TaskInput;
  constructor(input: TaskInput) {
    this.#input = input;
  }
  /** The nsqd `view`'s message came from: the pipeline's, not the worker's (no property of the view). */
  static nsqdAddressOf(view: MessageView): string {
    return view.#input.nsqdAddress;
  }
  get id(): string {
    return this.#input.id;
  }
  get attempts(): number {
    return this.#input.attempts;
  }
  get timestamp(): number {
    return this.#input.timestamp;
  }
  get body(): Buffer {
    return this.#input.body;
  }
  text(): string {
    return this.#input.body.toString('utf8');
  }
  json<T = unknown>(): T {
    return JSON.parse(this.#input.body.toString('utf8')) as T;
  }
}

function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`).join('; ');
}

/**
 * A task's context. The logger is made on first use: a pino child per message costs more than
 * the rest of the pipeline together, and most tasks log nothing for most messages.
 */
class Context implements TaskContext {
  private childLog: Logger | undefined;
  constructor(
    private readonly env: TaskEnvironment,
    readonly task: string,
    private readonly input: TaskInput,
  ) {}
  get topic(): string {
    return this.env.topic;
  }
  get channel(): string {
    return this.env.channelOf(this.task);
  }
  get options(): Record<string, unknown> {
    return this.env.options;
  }
  get signal(): AbortSignal {
    return this.env.signal;
  }
  get log(): Logger {
    this.childLog ??= childWithFields(this.env.log, { channel: this.channel, task: this.task, messageId: this.input.id, attempts: this.input.attempts });
    return this.childLog;
  }
  // Getters returning functions, so that `const { publish, touch } = context` works.
  get publish(): (topic: string, body: PublishBody) => Promise<void> {
    return this.env.publish;
  }
  get touch(): () => void {
    const input = this.input;
    return () => input.touch();
  }
}

const DISCARDED_BY_VALIDATE: TaskOutcome = { kind: 'discarded', reason: 'validate returned false' };

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Runs one message through the pipeline. Synchronous as long as the worker's hooks and task are:
 * a promise is made only where one of them returns one, so a plain task costs no promise, no
 * microtask and no await per message (the consumer then finishes the message at once).
 *
 * Errors: whatever a hook or the task throws (or rejects with), unchanged.
 */
export function runTask(env: TaskEnvironment, task: string, input: TaskInput): TaskOutcome | Promise<TaskOutcome> {
  const context = new Context(env, task, input);
  const view = new MessageView(input);
  const schema = env.runtime.bodySchema;
  if (schema !== undefined) {
    let json: unknown;
    try {
      json = view.json();
    } catch {
      return { kind: 'discarded', reason: 'body is not valid JSON' };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) return { kind: 'discarded', reason: `body does not match the worker's schema: ${describeIssues(parsed.error.issues)}` };
    view.data = parsed.data;
  }
  const validate = env.instance.validate;
  if (validate === undefined) return preprocessThenRun(env, task, view, context);
  const valid = validate(view, context);
  if (isPromiseLike(valid)) return Promise.resolve(valid).then((ok) => (ok ? preprocessThenRun(env, task, view, context) : DISCARDED_BY_VALIDATE));
  return valid ? preprocessThenRun(env, task, view, context) : DISCARDED_BY_VALIDATE;
}

function preprocessThenRun(env: TaskEnvironment, task: string, view: MessageView, context: Context): TaskOutcome | Promise<TaskOutcome> {
  const preprocess = env.instance.preprocess;
  if (preprocess === undefined) return runUnlessSeen(env, task, view, context);
  const preprocessed = preprocess(view, context);
  if (isPromiseLike(preprocessed)) {
    return Promise.resolve(preprocessed).then((data) => {
      if (data !== undefined) view.data = data;
      return runUnlessSeen(env, task, view, context);
    });
  }
  if (preprocessed !== undefined) view.data = preprocessed;
  return runUnlessSeen(env, task, view, context);
}

function runUnlessSeen(env: TaskEnvironment, task: string, view: MessageView, context: Context): TaskOutcome | Promise<TaskOutcome> {
  const own = env.instance.dedupKey?.(view);
  const key = own ?? view.id;
  // A worker's own key means the same thing at every nsqd; a message id only at the nsqd that made it.
  const scope = own === undefined ? idScopeOf(MessageView.nsqdAddressOf(view)) : 0;
  if (env.seen(task, key, scope)) {
    if (env.log.isLevelEnabled('debug')) context.log.debug({ dedupKey: key }, 'already processed: finishing without running the task again');
    return { kind: 'deduplicated', key, scope };
  }
  // A task's RequeueMessage or GiveUpMessage reaches the consumer as thrown: it recognises them by
  // code, so one from the worker's own copy of the package (a fresh module graph) steers it as well.
  const done = env.instance.tasks.get(task)!(view, context);
  if (isPromiseLike(done)) return Promise.resolve(done).then(() => ({ kind: 'done', key, scope }));
  return { kind: 'done', key, scope };
}
