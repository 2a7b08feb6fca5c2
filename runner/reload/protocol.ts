/**
 * Messages between a worker process and the child that runs its code under `--watch`, over Node's
 * IPC channel with structured-clone serialisation (Buffers travel as they are); and what the runner
 * asks of the reloading executor and is told by it.
 */
import type { Logger } from 'pino';
import type { ExecutorDeps } from '../ops/bind.ts';
import type { LoadFailureLocation } from '../worker/load-failure.ts';

export type { LoadFailureLocation };

import type { SecuritySettings } from '../config/client-security.ts';
import type { FileSnapshot } from './file-snapshot.ts';
import { thrownText } from '../../protocol/thrown-text.ts';

/**
 * tsx's switch for its disk cache, and the value a runner sets it to for its children
 * (host-process.ts): a child removes that value from its environment once tsx is registered, so
 * the user's code, and what it starts, see the environment the user gave.
 */
export const TSX_CACHE_SWITCH = 'TSX_DISABLE_CACHE';
export const TSX_CACHE_OFF_FOR_HOST = 'nsqworker-reload-host';

export interface LoadRequest {
  t: 'load';
  file: string;
  topic: string;
  channel: string;
  /** `<topic>/<channel>`: where this worker's values sit in the config file. */
  workerKey: string;
  configPath: string | undefined;
  /** The command line's parsed flags and the environment: the child merges options itself, so config edits apply on reload. */
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  logLevel: string;
  /** TLS, compression and AUTH for the child's producer (file paths: the child reads them). */
  security: SecuritySettings;
  publishAddresses: string[];
  dedupQueueSize: number;
  dedup: Record<string, string[]>;
  /** The files the runner watches now: the child snapshots the other project files it loads (file-snapshot.ts). */
  watched: string[];
}

export type ParentToChild =
  | LoadRequest
  | { t: 'run'; seq: number; task: string; id: string; nsqdAddress: string; attempts: number; timestamp: number; body: Uint8Array }
  | { t: 'dedup'; dedup: Record<string, string[]> }
  /** The code of the last 'load' into a child that had code already takes over; the old code's close hook runs. */
  | { t: 'swap' }
  | { t: 'abort' }
  | { t: 'close' };

export interface SerializedError {
  /** The name of its class (its constructor's), which a log line gives as `err.type`. */
  type: string;
  name: string;
  message: string;
  stack: string | undefined;
  code: string | undefined;
  delayMs: number | undefined;
  backoff: boolean | undefined;
  /** Its other own fields of a primitive value (a user's `orderId`), which a log line shows. */
  fields: Record<string, string | number | boolean | null>;
  /** Set when what was thrown is no Error (`throw 'out of paper'`): it, as a string. */
  nonError?: string;
}


export type ChildToParent =
  | { t: 'warm' }
  /**
   * `files`: every project file loaded; `snapshots`: those of them the runner did not watch, each as
   * it loaded (LoadSnapshots); `settings`: the runner's settings the config file sets now (its
   * `workers` aside), for the parent to compare.
   */
  | { t: 'loaded'; taskNames: string[]; files: string[]; snapshots: Map<string, FileSnapshot>; settings: Record<string, unknown> }
  /** After 'loaded': the project files code loaded since (a task's import()), each with its snapshot as it loaded. */
  | { t: 'files'; snapshots: Map<string, FileSnapshot> }
  | { t: 'load-failed'; error: SerializedError; location: LoadFailureLocation; failsAnywhere: boolean; files: string[]; snapshots: Map<string, FileSnapshot> }
  | { t: 'result'; seq: number; outcome: import('../worker/pipeline.ts').TaskOutcome }
  | { t: 'failed'; seq: number; error: SerializedError }
  | { t: 'touch'; seq: number }
  | { t: 'closed' };

export function serializeError(thrown: unknown): SerializedError {
  const error = thrown instanceof Error ? thrown : new Error(thrownText(thrown));
  const extra = error as Error & { code?: unknown; delayMs?: unknown; backoff?: unknown };
  return {
    ...(thrown instanceof Error ? {} : { nonError: thrownText(thrown) }),
    type: typeof error.constructor === 'function' && error.constructor.name !== '' ? error.constructor.name : error.name,
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof extra.code === 'string' ? extra.code : undefined,
    delayMs: typeof extra.delayMs === 'number' ? extra.delayMs : undefined,
    backoff: typeof extra.backoff === 'boolean' ? extra.backoff : undefined,
    fields: primitiveFields(error),
  };
}

const STEERING_FIELDS = new Set(['code', 'delayMs', 'backoff']);

/** Own enumerable fields of `error` whose values cross the IPC channel as they are: primitives. */
function primitiveFields(error: Error): Record<string, string | number | boolean | null> {
  const fields: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(error)) {
    if (STEERING_FIELDS.has(key)) continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return fields;
}

/** At most this many error class names are rebuilt as classes of that name; past it, as Error. */
const MAX_ERROR_CLASSES = 100;
const errorClasses = new Map<string, ErrorConstructor>();

/**
 * A class of Error named `name`: a log line's `err.type` is its error's constructor's name (pino's
 * err serializer), so a task's TypeError reads as one whether the task ran in this process or in a
 * child. Not the user's class (instanceof does not hold): only its name.
 */
function errorClassNamed(name: string): ErrorConstructor {
  let named = errorClasses.get(name);
  if (named === undefined) {
    if (errorClasses.size >= MAX_ERROR_CLASSES) return Error;
    named = class extends Error {} as ErrorConstructor;
    Object.defineProperty(named, 'name', { value: name });
    errorClasses.set(name, named);
  }
  return named;
}

/** Rebuilds an error on the parent's side, of its class's name, keeping the fields the consumer steers by. */
export function deserializeError(serialized: SerializedError): Error {
  const error = new (errorClassNamed(serialized.type))(serialized.message) as Error & { code?: string; delayMs?: number; backoff?: boolean };
  Object.assign(error, serialized.fields);
  // Not an own field unless the user's error had one (this.name in its constructor: among the
  // fields): assigned, it would show in a log line as `name` beside `type`, as in process it does not.
  if (error.name !== serialized.name) Object.defineProperty(error, 'name', { value: serialized.name, writable: true, configurable: true, enumerable: false });
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  if (serialized.code !== undefined) error.code = serialized.code;
  if (serialized.delayMs !== undefined) error.delayMs = serialized.delayMs;
  if (serialized.backoff !== undefined) error.backoff = serialized.backoff;
  return error;
}

/**
 * What a task threw, on the parent's side: the error {@link deserializeError} rebuilds, or the string
 * a task threw that was no Error, so that the runner words it as it does a task's in its own process.
 */
export function deserializeThrown(serialized: SerializedError): unknown {
  return serialized.nonError ?? deserializeError(serialized);
}

/** What the runner asks of every load: the request but for what the executor fills in itself. */
export type ReloadRequest = Omit<LoadRequest, 't' | 'dedup' | 'publishAddresses' | 'topic' | 'channel' | 'watched'>;

/** What the runner is told of reloads. */
export interface ReloadEvents {
  /** A reload swapped in new code; `settings` are the runner's settings the config file sets now. */
  reloaded?(info: { reloads: number; durationMs: number; settings: Record<string, unknown> }): void;
  /** A reload was refused; the old code keeps running. */
  reloadFailed?(error: Error): void;
}

/** What the runner starts the reloading executor with (ReloadingExecutor.start). */
export interface ReloadStart {
  taskNames: readonly string[];
  deps: ExecutorDeps;
  request: ReloadRequest;
  publishAddresses: string[];
  workersDir: string;
  watch: boolean;
  /** Under dev: a removed worker file stops the worker (dev says so); else the running code stays until the file is back. */
  stopsOnRemoval?: boolean;
  log: Logger;
  events?: ReloadEvents;
}
