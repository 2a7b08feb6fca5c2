/**
 * The worker contract, kept close to the Python nsqworker: optional `validate` and `preprocess`
 * hooks, one or more tasks, options declared as a zod schema, an optional zod schema for the
 * message body, and an optional dedup key. Two equivalent forms: a class extending {@link Worker},
 * whose methods ending in `Task` (or `_task`) are its tasks, or {@link defineWorker}.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { PublishBody } from '../../client/body.ts';

/** A message as a worker sees it. */
export interface WorkerMessage<Data = unknown> {
  readonly id: string;
  /** Delivery count on this task's channel: 1 on the first delivery. */
  readonly attempts: number;
  /** Publish time, nanoseconds since the Unix epoch. */
  readonly timestamp: number;
  readonly body: Buffer;
  /** The body parsed by the worker's body schema, or what `preprocess` returned. */
  data: Data;
  text(): string;
  json<T = unknown>(): T;
}

/** What a task gets beside the message. */
export interface TaskContext<Options = Record<string, unknown>> {
  readonly topic: string;
  readonly channel: string;
  readonly task: string;
  /** The worker's options, parsed by its schema. */
  readonly options: Options;
  /** A pino logger bound to topic, channel, task and message id. */
  readonly log: Logger;
  /** Raised when the worker is shutting down: long tasks should stop and throw. */
  readonly signal: AbortSignal;
  /** Publishes to a topic (named without --topic-prefix, which is added) through the worker's broker connections. */
  publish(topic: string, body: PublishBody): Promise<void>;
  /** Extends the message's timeout on the broker (TOUCH). */
  touch(): void;
}

/** What the hooks get: the context without a task. */
export type HookContext<Options = Record<string, unknown>> = Omit<TaskContext<Options>, 'task'>;

export type Task<Options = Record<string, unknown>, Data = unknown> = (
  message: WorkerMessage<Data>,
  context: TaskContext<Options>,
) => Promise<void> | void;

type OptionsOf<S> = S extends z.ZodType ? z.output<S> : Record<string, unknown>;
type DataOf<S> = S extends z.ZodType ? z.output<S> : unknown;

/**
 * `message.data` after `preprocess` returned `P`: what it returned; the body's data `D` where it
 * returns nothing (a preprocess that only checks or changes `message.data`), as at run time, where
 * undefined leaves `message.data` as it was.
 */
export type Preprocessed<P, D> = 0 extends 1 & P ? P : [P] extends [void] ? D : undefined extends P ? Exclude<P, undefined | void> | D : P;

/**
 * A worker in plain-object form. `Data` is what its tasks and `dedupKey` see as `message.data`: the
 * body's (its schema's output, or unknown), or what `preprocess` returns, inferred by {@link defineWorker}.
 */
export interface WorkerDefinition<OptionsSchema extends z.ZodObject | undefined = undefined, BodySchema extends z.ZodType | undefined = undefined, Data = DataOf<BodySchema>> {
  /** The worker's own options: become command-line flags, config entries and NSQWORKER_* variables. */
  options?: OptionsSchema;
  /** The message body's schema: the body is parsed as JSON and must match, or the message is discarded. */
  body?: BodySchema;
  /** Returning false discards the message without running any task. */
  validate?(message: WorkerMessage<DataOf<BodySchema>>, context: HookContext<OptionsOf<OptionsSchema>>): boolean | Promise<boolean>;
  /** Runs before the tasks; a value it returns replaces `message.data` (and its type, for the tasks). */
  preprocess?(message: WorkerMessage<DataOf<BodySchema>>, context: HookContext<OptionsOf<OptionsSchema>>): unknown;
  /** The key a task's dedup queue remembers: the message id unless given. Runs after `preprocess`. */
  dedupKey?(message: WorkerMessage<Data>): string;
  tasks: Record<string, Task<OptionsOf<OptionsSchema>, Data>>;
  /** Releases what the worker holds, before shutdown or a reload drops it. */
  close?(): Promise<void> | void;
}

const DEFINED = Symbol.for('nsqworker.worker-definition');

/**
 * Declares a worker in plain-object form, with full typing from its schemas: `context.options` from
 * `options`, `message.data` from `body`, or from what `preprocess` returns. TypeScript reads the
 * members in order: with `preprocess` written after `tasks` or `dedupKey`, those see `message.data`
 * as unknown (not the body's type, which it is not by then).
 */
export function defineWorker<O extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  definition: WorkerDefinition<O, B> & { preprocess?: undefined },
): WorkerDefinition<O, B>;
export function defineWorker<O extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined, P = unknown>(
  definition: WorkerDefinition<O, B, Preprocessed<P, DataOf<B>>> & {
    preprocess(message: WorkerMessage<DataOf<B>>, context: HookContext<OptionsOf<O>>): P | Promise<P>;
  },
): WorkerDefinition<O, B, Preprocessed<P, DataOf<B>>>;
export function defineWorker(definition: object): object {
  return Object.assign(definition, { [DEFINED]: true });
}

export function isWorkerDefinition(value: unknown): value is WorkerDefinition<z.ZodObject | undefined, z.ZodType | undefined, unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFINED] === true;
}

/**
 * A worker in class form. Declare schemas as static fields and pass their types as the generic
 * arguments; every method named `somethingTask` or `something_task` is the task `something`.
 *
 * ```ts
 * const options = z.object({ minDuration: z.number().default(0) });
 * export default class PageviewWorker extends Worker<typeof options> {
 *   static options = options;
 *   async countTask(message: WorkerMessage) { ... this.options.minDuration ... }
 * }
 * ```
 */
const WORKER_CLASS = Symbol.for('nsqworker.worker-class');

export abstract class Worker<OptionsSchema extends z.ZodObject | undefined = undefined, BodySchema extends z.ZodType | undefined = undefined> {
  static options?: z.ZodObject;
  static body?: z.ZodType;
  /** Marks subclasses across module graphs (a reload loads a fresh copy of this module). */
  static readonly [WORKER_CLASS] = true;
  /** The parsed options; set before any hook or task runs. */
  options!: OptionsOf<OptionsSchema>;
  /** A logger bound to the worker's topic and channel. */
  log!: Logger;

  validate?(message: WorkerMessage<DataOf<BodySchema>>, context: HookContext<OptionsOf<OptionsSchema>>): boolean | Promise<boolean>;
  preprocess?(message: WorkerMessage<DataOf<BodySchema>>, context: HookContext<OptionsOf<OptionsSchema>>): unknown;
  dedupKey?(message: WorkerMessage<DataOf<BodySchema>>): string;
  close?(): Promise<void> | void;
}

export type WorkerClass = (abstract new () => Worker<z.ZodObject | undefined, z.ZodType | undefined>) & {
  options?: z.ZodObject;
  body?: z.ZodType;
};

export function isWorkerClass(value: unknown): value is WorkerClass {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[WORKER_CLASS] === true;
}
